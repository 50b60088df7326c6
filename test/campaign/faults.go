package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A fault is one thing going wrong, with its heal. Every kind acts the way the real failure
// does: a power cut kills every process of the node at once, a network cut drops packets
// (nftables in the node's own network namespace: only the lab's addresses), a hang is a
// SIGSTOP, a crash a SIGKILL.

// Fault kinds.
const (
	kindKill          = "node-kill"
	kindNetsplit      = "cluster-net-cut"
	kindStorageCut    = "storage-net-cut"
	kindLibvirtHang   = "libvirtd-hang"
	kindControldKill  = "controld-kill"
	kindExecdKill     = "execd-kill"
	kindHeartbeatHang = "heartbeat-hang"
	kindOSDRestart    = "osd-restart"
	kindMonRestart    = "mon-restart"
	kindMigrateKill   = "migration-kill"
	kindClockStep     = "clock-step"
	kindDouble        = "double"
)

// singleKinds are the faults of one node or one daemon; double combines two of the
// node-scoped ones on different nodes.
var singleKinds = []string{kindKill, kindNetsplit, kindStorageCut, kindLibvirtHang, kindControldKill, kindExecdKill,
	kindHeartbeatHang, kindOSDRestart, kindMonRestart, kindMigrateKill, kindClockStep}

var nodeScoped = []string{kindKill, kindNetsplit, kindStorageCut, kindLibvirtHang, kindControldKill, kindExecdKill,
	kindHeartbeatHang, kindClockStep}

// fault is one planned fault: what, where, for how long.
type fault struct {
	Kind  string        `json:"kind"`
	Node  int           `json:"node,omitempty"`
	Hold  time.Duration `json:"hold"`
	Guest string        `json:"guest,omitempty"` // migration: the guest moved
	// Target is the migration's target node; KillTarget says which end is killed.
	Target     int     `json:"target,omitempty"`
	KillTarget bool    `json:"kill_target,omitempty"`
	Delay      float64 `json:"delay_s,omitempty"` // migration: seconds between move and kill
	Step       int     `json:"step_s,omitempty"`  // clock step, seconds
	Also       *fault  `json:"also,omitempty"`    // double: the second fault
}

func (f fault) String() string {
	s := f.Kind
	switch f.Kind {
	case kindMigrateKill:
		end := "source"
		if f.KillTarget {
			end = "target"
		}
		s += fmt.Sprintf(" %s %s->%s, kill the %s after %.1fs", f.Guest, nodeName(f.Node), nodeName(f.Target), end, f.Delay)
	case kindOSDRestart, kindMonRestart:
	case kindClockStep:
		s += fmt.Sprintf(" %s %+ds for %s", nodeName(f.Node), f.Step, f.Hold.Round(time.Second))
	default:
		s += fmt.Sprintf(" %s for %s", nodeName(f.Node), f.Hold.Round(time.Second))
	}
	if f.Also != nil {
		s = "double: " + f.Also.String() + " + " + s
	}
	return s
}

// plan draws a fault of the given kind from rng. guestsOn says which guests run where.
func plan(rng *rand.Rand, kind string, nodes int, guestsOn func(node string) []string) fault {
	node := 1 + rng.IntN(nodes)
	secs := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Second }
	f := fault{Kind: kind, Node: node}
	switch kind {
	case kindKill:
		f.Hold = secs(5, 20)
	case kindNetsplit:
		f.Hold = secs(10, 30)
	case kindStorageCut:
		f.Hold = secs(10, 40)
	case kindLibvirtHang:
		f.Hold = secs(5, 60)
	case kindControldKill, kindExecdKill:
		f.Hold = secs(5, 15)
	case kindHeartbeatHang:
		f.Hold = secs(3, 20)
	case kindOSDRestart, kindMonRestart:
		f.Node = 0
		f.Hold = secs(0, 5)
	case kindClockStep:
		f.Step = []int{-90, -30, 30, 90, 300}[rng.IntN(5)]
		f.Hold = secs(20, 40)
	case kindMigrateKill:
		// A guest that runs somewhere, moved to another node; one end dies mid-way.
		for k := 0; k < nodes; k++ {
			n := (node+k-1)%nodes + 1
			if gs := guestsOn(nodeName(n)); len(gs) > 0 {
				f.Node, f.Guest = n, gs[rng.IntN(len(gs))]
				break
			}
		}
		f.Target = (f.Node+rng.IntN(nodes-1))%nodes + 1
		f.KillTarget = rng.IntN(2) == 1
		f.Delay = 0.2 + rng.Float64()*1.5
		f.Hold = secs(5, 15)
	case kindDouble:
		a := nodeScoped[rng.IntN(len(nodeScoped))]
		b := nodeScoped[rng.IntN(len(nodeScoped))]
		first := plan(rng, a, nodes, guestsOn)
		second := plan(rng, b, nodes, guestsOn)
		second.Node = (first.Node+rng.IntN(nodes-1))%nodes + 1
		second.Also = &first
		second.Hold = max(second.Hold, first.Hold) // both are healed together
		return second
	}
	return f
}

// ---- injecting and healing ------------------------------------------------------------------

// nftCut drops every packet between the node and the given addresses (in its own netns).
func nftCut(table string, addrs []string) string {
	set := strings.Join(addrs, ", ")
	return fmt.Sprintf(`table inet %[1]s
delete table inet %[1]s
table inet %[1]s {
	chain in { type filter hook input priority -10; ip saddr { %[2]s } drop; }
	chain out { type filter hook output priority -10; ip daddr { %[2]s } drop; }
}
`, table, set)
}

func nftHeal(table string) string {
	return fmt.Sprintf("table inet %[1]s\ndelete table inet %[1]s\n", table)
}

func (n *nemesis) otherNodes(i int) []string {
	var out []string
	for j := 1; j <= n.lab.nodes; j++ {
		if j != i {
			out = append(out, nodeAddr(j))
		}
	}
	return out
}

// signalAll sends sig to every process of node i whose command line contains match,
// waiting up to 30 s for one to exist (a node that just rejoined starts its daemons).
func (n *nemesis) signalAll(i int, match string, sig syscall.Signal) []int {
	var pids []int
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(500 * time.Millisecond) {
		if pids = n.lab.nodeProcs(i, match); len(pids) > 0 {
			break
		}
	}
	for _, p := range pids {
		_ = syscall.Kill(p, sig)
	}
	return pids
}

// inject starts the fault; hold and heal follow in run.
func (n *nemesis) inject(f *fault) error {
	if f.Also != nil {
		if err := n.inject(f.Also); err != nil {
			return err
		}
	}
	i := f.Node
	switch f.Kind {
	case kindKill:
		_, err := n.lab.script(time.Minute, "nodes.sh", "kill", strconv.Itoa(i))
		return err
	case kindNetsplit:
		return n.lab.nft(i, nftCut("campaign_cluster", n.otherNodes(i)))
	case kindStorageCut:
		return n.lab.nft(i, nftCut("campaign_storage", []string{hubAddr}))
	case kindLibvirtHang:
		n.stopped[i] = n.signalAll(i, "libvirtd", syscall.SIGSTOP)
		if len(n.stopped[i]) == 0 {
			return fmt.Errorf("no libvirtd on %s", nodeName(i))
		}
		n.hungGuests[i] = n.obs.guestsOn(nodeName(i))
	case kindControldKill:
		if len(n.signalAll(i, "pacemaker-controld", syscall.SIGKILL)) == 0 {
			return fmt.Errorf("no pacemaker-controld on %s", nodeName(i))
		}
	case kindExecdKill:
		if len(n.signalAll(i, "pacemaker-execd", syscall.SIGKILL)) == 0 {
			return fmt.Errorf("no pacemaker-execd on %s", nodeName(i))
		}
	case kindHeartbeatHang:
		n.stopped[i] = n.signalAll(i, "heartbeat run", syscall.SIGSTOP)
		if len(n.stopped[i]) == 0 {
			return fmt.Errorf("no heartbeat daemon on %s", nodeName(i))
		}
	case kindOSDRestart:
		_, err := n.lab.script(time.Minute, "ceph.sh", "restart-osd", "ceph-nodes")
		return err
	case kindMonRestart:
		_, err := n.lab.script(time.Minute, "ceph.sh", "restart-mon", "ceph-nodes")
		return err
	case kindClockStep:
		return n.lab.stepClock(i, f.Step)
	case kindMigrateKill:
		if f.Guest == "" {
			return fmt.Errorf("no guest runs anywhere to migrate")
		}
		done := make(chan error, 1)
		go func() {
			_, err := n.lab.onNode(2*time.Minute, n.anyOtherNode(f.Node, f.Target), "pcs", "resource", "move", f.Guest, nodeName(f.Target))
			done <- err
		}()
		time.Sleep(time.Duration(f.Delay * float64(time.Second)))
		victim := f.Node
		if f.KillTarget {
			victim = f.Target
		}
		_, err := n.lab.script(time.Minute, "nodes.sh", "kill", strconv.Itoa(victim))
		if err != nil {
			return err
		}
		n.killed = append(n.killed, victim)
	}
	return nil
}

// anyOtherNode is a node that is on and neither a nor b (a when there is none).
func (n *nemesis) anyOtherNode(a, b int) int {
	for i := 1; i <= n.lab.nodes; i++ {
		if i != a && i != b && n.lab.on(i) {
			return i
		}
	}
	return a
}

// heal undoes the fault: what was stopped continues, what was cut is joined, what is off is
// powered on once the cluster has fenced it (a node that comes back before its fencing is
// recorded hears of it and stops its cluster stack for good, as a real one would).
func (n *nemesis) heal(f *fault) error {
	var errs []string
	i := f.Node
	switch f.Kind {
	case kindNetsplit:
		if err := n.lab.nft(i, nftHeal("campaign_cluster")); err != nil {
			errs = append(errs, err.Error())
		}
	case kindStorageCut:
		if err := n.lab.nft(i, nftHeal("campaign_storage")); err != nil {
			errs = append(errs, err.Error())
		}
	case kindLibvirtHang, kindHeartbeatHang:
		for _, p := range n.stopped[i] {
			_ = syscall.Kill(p, syscall.SIGCONT)
		}
		delete(n.stopped, i)
		delete(n.hungGuests, i)
	case kindClockStep:
		if err := n.lab.stepClock(i, 0); err != nil {
			errs = append(errs, err.Error())
		}
	case kindMigrateKill:
		_, _ = n.lab.onNode(time.Minute, n.anyOtherNode(0, 0), "pcs", "resource", "clear", f.Guest)
	}
	if f.Also != nil {
		if err := n.heal(f.Also); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
