package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// The observer samples the cluster from outside its nodes, independently of kvmha's code:
// libvirt over each node's socket (go-libvirt), Ceph through librados (ceph.go), Pacemaker
// through its own tools run inside a node, and the guests' serial consoles as files. It
// writes what changed to the timeline and keeps the latest view for the nemesis and the
// checker.

// Sampling periods.
const (
	libvirtPeriod   = 200 * time.Millisecond
	consolePeriod   = 200 * time.Millisecond
	holdersPeriod   = 200 * time.Millisecond
	pacemakerPeriod = time.Second
	fencePeriod     = 2 * time.Second
	blocklistPeriod = time.Second
)

// ackState is what one boot of a guest acknowledged on its console.
type ackState struct {
	gen         uint64
	maxSeq      uint64
	first, last time.Time
	node        string // where the last ACK was printed
}

// ringLine is a writer's report, at boot, of the boots it found on the disk.
type ringLine struct {
	at    time.Time
	node  string
	boots map[uint64]uint64 // gen -> max seq found
	// acked is, for each gen, the highest ACK observed on a console before this line.
	acked map[uint64]uint64
}

// view is the latest observation.
type view struct {
	mu sync.Mutex
	// domains[node][guest] is the libvirt state of the guest's domain on the node; a node
	// that is off has no entry; libvirtUp[node] says whether its libvirtd answered.
	domains   map[int]map[string]string
	libvirtUp map[int]bool
	// Pacemaker: where each guest is Started ("" none), failed guests, online nodes.
	placement map[string]string
	failed    map[string]bool
	online    []string
	failures  []string
	pcmkAt    time.Time
	holders   map[string][]string
	lockOwner map[string]string
	blocklist []string
	acks      map[string]map[uint64]*ackState // guest -> gen
	rings     map[string][]ringLine
	bootGen   map[string]uint64 // guest -> newest gen seen booting
	// bothRunning counts consecutive libvirt rounds in which a guest ran on two nodes.
	bothRunning map[string]int
	// lastAck is when each guest last acknowledged a write (any boot).
	lastAck map[string]time.Time
}

type observer struct {
	noted  sync.Map // what noteOnce already said
	lab    *lab
	cl     *cluster
	tl     *timeline
	v      *view
	ceph   *cephProbe
	guests []string
	// violation reports what the live checks find.
	violation func(at time.Time, what string)
}

func newObserver(l *lab, cl *cluster, tl *timeline, ceph *cephProbe) *observer {
	return &observer{lab: l, cl: cl, tl: tl, ceph: ceph, guests: cl.guests, v: &view{
		domains: map[int]map[string]string{}, libvirtUp: map[int]bool{}, placement: map[string]string{},
		failed: map[string]bool{}, holders: map[string][]string{}, lockOwner: map[string]string{},
		acks: map[string]map[uint64]*ackState{}, rings: map[string][]ringLine{}, bootGen: map[string]uint64{},
		bothRunning: map[string]int{}, lastAck: map[string]time.Time{},
	}}
}

// run starts every sampler; they stop with ctx.
func (o *observer) run(ctx context.Context, wg *sync.WaitGroup) {
	for i := 1; i <= o.lab.nodes; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); o.watchLibvirt(ctx, i) }()
	}
	for _, f := range []func(context.Context){o.watchConsoles, o.watchPacemaker, o.watchFencing, o.watchHolders, o.watchBlocklist, o.checkTwoRunning} {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
}

// noteOnce puts a sampler's error on the timeline the first time it is seen.
func (o *observer) noteOnce(what string, err error) {
	key := what + ": " + err.Error()
	if _, seen := o.noted.LoadOrStore(key, true); !seen {
		o.tl.add(event{Kind: evNote, Detail: "observer: " + key})
	}
}

func tick(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// ---- libvirt ------------------------------------------------------------------------------

// deadlineConn gives every read and write a fresh deadline, so a libvirtd that stops
// answering (SIGSTOP) breaks the connection instead of hanging the sampler.
type deadlineConn struct {
	net.Conn
	d time.Duration
}

func (c deadlineConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.d))
	return c.Conn.Read(p)
}

func (c deadlineConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.d))
	return c.Conn.Write(p)
}

type deadlineDialer struct {
	path string
}

func (d deadlineDialer) Dial() (net.Conn, error) {
	c, err := net.DialTimeout("unix", d.path, time.Second)
	if err != nil {
		return nil, err
	}
	return deadlineConn{Conn: c, d: 2 * time.Second}, nil
}

func domainStateName(s int32) string {
	switch golibvirt.DomainState(s) {
	case golibvirt.DomainRunning:
		return "running"
	case golibvirt.DomainPaused:
		return "paused"
	case golibvirt.DomainBlocked:
		return "running" // blocked in the hypervisor: still a live vCPU
	case golibvirt.DomainShutdown:
		return "shutting-down"
	case golibvirt.DomainShutoff:
		return "shutoff"
	case golibvirt.DomainCrashed:
		return "crashed"
	case golibvirt.DomainPmsuspended:
		return "suspended"
	}
	return "unknown"
}

func (o *observer) watchLibvirt(ctx context.Context, i int) {
	node := nodeName(i)
	var conn *golibvirt.Libvirt
	prev := map[string]string{}
	prevOn, prevUp := true, true
	for tick(ctx, libvirtPeriod) {
		on := o.lab.on(i)
		if on != prevOn {
			o.tl.add(event{Kind: evNode, Node: node, State: map[bool]string{true: "on", false: "off"}[on]})
			prevOn = on
		}
		if !on {
			if conn != nil {
				_ = conn.Disconnect()
				conn = nil
			}
			o.setDomains(i, nil, false)
			for g := range prev {
				o.tl.add(event{Kind: evDomain, Node: node, Guest: g, State: "gone", Detail: "node off"})
			}
			prev = map[string]string{}
			continue
		}
		states, err := o.sampleLibvirt(&conn, i)
		up := err == nil
		if up != prevUp {
			st := "answers"
			if !up {
				st = "silent"
			}
			o.tl.add(event{Kind: evLibvirt, Node: node, State: st, Detail: errText(err)})
			prevUp = up
		}
		if !up {
			// Unknown is not stopped: keep the last states, flagged as unconfirmed.
			o.setDomains(i, prev, false)
			continue
		}
		for g, st := range states {
			if prev[g] != st {
				o.tl.add(event{Kind: evDomain, Node: node, Guest: g, State: st})
			}
		}
		for g := range prev {
			if _, ok := states[g]; !ok {
				o.tl.add(event{Kind: evDomain, Node: node, Guest: g, State: "gone"})
			}
		}
		prev = states
		o.setDomains(i, states, true)
	}
	if conn != nil {
		_ = conn.Disconnect()
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// sampleLibvirt lists the node's active domains and their states.
func (o *observer) sampleLibvirt(conn **golibvirt.Libvirt, i int) (map[string]string, error) {
	if *conn == nil {
		c := golibvirt.NewWithDialer(deadlineDialer{path: o.lab.libvirtSocket(i)})
		if err := c.ConnectToURI(golibvirt.QEMUSystem); err != nil {
			return nil, err
		}
		*conn = c
	}
	c := *conn
	doms, _, err := c.ConnectListAllDomains(1, golibvirt.ConnectListDomainsActive)
	if err != nil {
		_ = c.Disconnect()
		*conn = nil
		return nil, err
	}
	states := map[string]string{}
	for _, d := range doms {
		st, _, err := c.DomainGetState(d, 0)
		if err != nil {
			continue // gone between the two calls
		}
		states[d.Name] = domainStateName(st)
	}
	return states, nil
}

func (o *observer) setDomains(i int, states map[string]string, up bool) {
	o.v.mu.Lock()
	defer o.v.mu.Unlock()
	if states == nil {
		delete(o.v.domains, i)
	} else {
		o.v.domains[i] = states
	}
	o.v.libvirtUp[i] = up
}

// checkTwoRunning: a guest whose domain runs (not paused) on two nodes in three
// consecutive rounds is a split brain: a live migration has the target paused until the
// source pauses, so even a round that catches the switch-over sees it once at most.
func (o *observer) checkTwoRunning(ctx context.Context) {
	for tick(ctx, libvirtPeriod) {
		o.v.mu.Lock()
		var found []string
		for _, g := range o.guests {
			var where []string
			for i, doms := range o.v.domains {
				if doms[g] == "running" && o.lab.on(i) {
					where = append(where, nodeName(i))
				}
			}
			if len(where) > 1 {
				o.v.bothRunning[g]++
				if o.v.bothRunning[g] == 3 {
					sort.Strings(where)
					found = append(found, fmt.Sprintf("%s runs on %s at once (three samples in a row, outside a migration)", g, strings.Join(where, " and ")))
				}
			} else {
				o.v.bothRunning[g] = 0
			}
		}
		o.v.mu.Unlock()
		for _, f := range found {
			o.violation(time.Now(), f)
		}
	}
}

// ---- consoles --------------------------------------------------------------------------------

// watchConsoles follows every node's console file of every guest (each node's qemu writes
// its own file, appending), timestamps its lines and tracks the writer's output.
func (o *observer) watchConsoles(ctx context.Context) {
	type tail struct {
		off  int64
		rest string
	}
	tails := map[string]*tail{}
	for tick(ctx, consolePeriod) {
		now := time.Now()
		for i := 1; i <= o.lab.nodes; i++ {
			for _, g := range o.guests {
				path := o.lab.consoleFile(i, g)
				t := tails[path]
				if t == nil {
					t = &tail{}
					tails[path] = t
				}
				f, err := os.Open(path)
				if err != nil {
					continue
				}
				if st, err := f.Stat(); err == nil && st.Size() < t.off {
					t.off, t.rest = 0, "" // truncated
				}
				_, _ = f.Seek(t.off, io.SeekStart)
				data, _ := io.ReadAll(io.LimitReader(f, 4<<20))
				f.Close()
				t.off += int64(len(data))
				text := t.rest + strings.NewReplacer("\r", "", "\x00", "").Replace(string(data))
				lines := strings.Split(text, "\n")
				t.rest = lines[len(lines)-1]
				for _, line := range lines[:len(lines)-1] {
					o.consoleLine(now, nodeName(i), g, line)
				}
			}
		}
	}
}

// consoleLine interprets one line of the writer's output.
func (o *observer) consoleLine(at time.Time, node, guest, line string) {
	switch {
	case strings.HasPrefix(line, "ACK "):
		f := strings.Fields(line)
		if len(f) != 3 {
			return
		}
		gen, err1 := strconv.ParseUint(f[1], 10, 64)
		seq, err2 := strconv.ParseUint(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			return
		}
		o.ack(at, node, guest, gen, seq)
	case strings.HasPrefix(line, "kvmha-writer: BOOT "):
		gen := fieldUint(line, "gen=")
		o.v.mu.Lock()
		if gen > o.v.bootGen[guest] {
			o.v.bootGen[guest] = gen
		}
		o.v.mu.Unlock()
		o.tl.add(event{T: at, Kind: evBoot, Node: node, Guest: guest, Detail: strings.TrimPrefix(line, "kvmha-writer: ")})
	case strings.HasPrefix(line, "kvmha-writer: RING "):
		rl := ringLine{at: at, node: node, boots: map[uint64]uint64{}, acked: map[uint64]uint64{}}
		if i := strings.Index(line, "boots="); i >= 0 {
			for _, b := range strings.Split(line[i+len("boots="):], ",") {
				// GEN:MINSEQ-MAXSEQ@MINPOS-MAXPOS
				genS, rest, ok := strings.Cut(b, ":")
				if !ok {
					continue
				}
				seqs, _, _ := strings.Cut(rest, "@")
				_, maxS, _ := strings.Cut(seqs, "-")
				gen, e1 := strconv.ParseUint(genS, 10, 64)
				mx, e2 := strconv.ParseUint(maxS, 10, 64)
				if e1 == nil && e2 == nil {
					rl.boots[gen] = mx
				}
			}
		}
		o.v.mu.Lock()
		for gen, a := range o.v.acks[guest] {
			rl.acked[gen] = a.maxSeq
		}
		o.v.rings[guest] = append(o.v.rings[guest], rl)
		o.v.mu.Unlock()
		o.tl.add(event{T: at, Kind: evRing, Node: node, Guest: guest, Detail: strings.TrimPrefix(line, "kvmha-writer: ")})
	case strings.HasPrefix(line, "kvmha-writer: ERR "):
		o.tl.add(event{T: at, Kind: evWriteErr, Node: node, Guest: guest, Detail: strings.TrimPrefix(line, "kvmha-writer: ")})
	}
}

func fieldUint(line, key string) uint64 {
	i := strings.Index(line, key)
	if i < 0 {
		return 0
	}
	v := line[i+len(key):]
	if j := strings.IndexByte(v, ' '); j >= 0 {
		v = v[:j]
	}
	n, _ := strconv.ParseUint(v, 10, 64)
	return n
}

// ack records an acknowledged write. An ACK of an older boot seen more than a second after
// a newer boot's first ACK means two writers at once: a split brain (the second is slack
// for the 200 ms sampling of two files).
func (o *observer) ack(at time.Time, node, guest string, gen, seq uint64) {
	o.v.mu.Lock()
	acks := o.v.acks[guest]
	if acks == nil {
		acks = map[uint64]*ackState{}
		o.v.acks[guest] = acks
	}
	a := acks[gen]
	if a == nil {
		a = &ackState{gen: gen, first: at}
		acks[gen] = a
	}
	a.maxSeq = max(a.maxSeq, seq)
	a.last, a.node = at, node
	o.v.lastAck[guest] = at
	var newer *ackState
	for g, b := range acks {
		if g > gen && at.Sub(b.first) > time.Second && (newer == nil || b.first.Before(newer.first)) {
			newer = b
		}
	}
	o.v.mu.Unlock()
	if newer != nil {
		o.violation(at, fmt.Sprintf("%s: boot gen %d acknowledged write %d on %s %.1f s after boot gen %d had started writing on %s",
			guest, gen, seq, node, at.Sub(newer.first).Seconds(), newer.gen, newer.node))
	}
}

// ---- Pacemaker -------------------------------------------------------------------------------

// crmMon is the part of crm_mon's XML the observer reads.
type crmMon struct {
	Nodes []struct {
		Name    string `xml:"name,attr"`
		Online  string `xml:"online,attr"`
		Unclean string `xml:"unclean,attr"`
	} `xml:"nodes>node"`
	Resources []crmResource `xml:"resources>resource"`
	Clones    []struct {
		Resources []crmResource `xml:"resource"`
	} `xml:"resources>clone"`
	Failures []struct {
		OpKey  string `xml:"op_key,attr"`
		Node   string `xml:"node,attr"`
		Status string `xml:"status,attr"`
		Reason string `xml:"exitreason,attr"`
	} `xml:"failures>failure"`
}

type crmResource struct {
	ID     string `xml:"id,attr"`
	Role   string `xml:"role,attr"`
	Failed string `xml:"failed,attr"`
	Nodes  []struct {
		Name string `xml:"name,attr"`
	} `xml:"node"`
}

// pcmkFrom picks the node to ask: the first that is on, starting after the last one asked,
// so a node that hangs is not asked twice in a row.
func (o *observer) watchPacemaker(ctx context.Context) {
	last := 0
	prevPlace := map[string]string{}
	prevOnline, prevFailures := "", ""
	for tick(ctx, pacemakerPeriod) {
		var mon crmMon
		from := 0
		for k := 1; k <= o.lab.nodes; k++ {
			i := (last+k-1)%o.lab.nodes + 1
			if !o.lab.on(i) {
				continue
			}
			out, err := o.lab.onNode(5*time.Second, i, "crm_mon", "-1", "--output-as=xml")
			if err != nil || xml.Unmarshal([]byte(out), &mon) != nil {
				continue
			}
			from = i
			break
		}
		if from == 0 {
			continue
		}
		last = from
		place, failed := map[string]string{}, map[string]bool{}
		for _, r := range mon.Resources {
			if !slices.Contains(o.guests, r.ID) {
				continue
			}
			if r.Role == "Started" && len(r.Nodes) == 1 {
				place[r.ID] = r.Nodes[0].Name
			}
			if r.Failed == "true" {
				failed[r.ID] = true
			}
		}
		var online []string
		for _, n := range mon.Nodes {
			if n.Online == "true" {
				online = append(online, n.Name)
			}
		}
		var failures []string
		for _, f := range mon.Failures {
			failures = append(failures, fmt.Sprintf("%s on %s: %s %s", f.OpKey, f.Node, f.Status, f.Reason))
		}
		sort.Strings(failures)
		now := time.Now()
		o.v.mu.Lock()
		o.v.placement, o.v.failed, o.v.online, o.v.failures, o.v.pcmkAt = place, failed, online, failures, now
		o.v.mu.Unlock()
		for _, g := range o.guests {
			if place[g] != prevPlace[g] {
				st := "Started"
				if place[g] == "" {
					st = "Stopped"
				}
				o.tl.add(event{T: now, Kind: evPlacement, Guest: g, Node: place[g], State: st, Detail: "as " + nodeName(from) + " sees it"})
			}
		}
		prevPlace = place
		if s := strings.Join(online, " "); s != prevOnline {
			o.tl.add(event{T: now, Kind: evMembers, Values: online, Detail: "online, as " + nodeName(from) + " sees it"})
			prevOnline = s
		}
		if s := strings.Join(failures, "\n"); s != prevFailures {
			o.tl.add(event{T: now, Kind: evFailures, Values: failures})
			prevFailures = s
		}
	}
}

type fenceHistory struct {
	Events []struct {
		Target    string `xml:"target,attr"`
		Action    string `xml:"action,attr"`
		Status    string `xml:"status,attr"`
		Delegate  string `xml:"delegate,attr"`
		Client    string `xml:"client,attr"`
		Origin    string `xml:"origin,attr"`
		Completed string `xml:"completed,attr"`
		Device    string `xml:"device,attr"`
	} `xml:"list>fence_event"`
}

func (o *observer) watchFencing(ctx context.Context) {
	seen := map[string]bool{}
	for tick(ctx, fencePeriod) {
		for i := 1; i <= o.lab.nodes; i++ {
			if !o.lab.on(i) {
				continue
			}
			out, err := o.lab.onNode(5*time.Second, i, "stonith_admin", "--history", "*", "--verbose", "--output-as=xml")
			if err != nil {
				o.noteOnce("fence history", err)
				continue
			}
			var h fenceHistory
			if err := xml.Unmarshal([]byte(out), &h); err != nil {
				o.noteOnce("fence history", err)
				continue
			}
			for _, e := range h.Events {
				key := e.Target + e.Action + e.Status + e.Completed
				if seen[key] || e.Status == "pending" {
					continue
				}
				seen[key] = true
				at := time.Now()
				if t, err := time.Parse("2006-01-02 15:04:05Z", e.Completed); err == nil {
					at = t
				} else if t, err := time.ParseInLocation("2006-01-02 15:04:05.000000Z", e.Completed, time.UTC); err == nil {
					at = t
				}
				o.tl.add(event{T: at, Kind: evFence, Node: e.Target, State: e.Action + " " + e.Status,
					Detail: fmt.Sprintf("by %s for %s (device %s, completed %s)", e.Delegate, e.Client, e.Device, e.Completed)})
			}
			break
		}
	}
}

// ---- Ceph ----------------------------------------------------------------------------------

func (o *observer) watchHolders(ctx context.Context) {
	prev := map[string]string{}
	for tick(ctx, holdersPeriod) {
		for _, g := range o.guests {
			watchers, owner, err := o.ceph.holders(g)
			if err != nil {
				o.noteOnce("holders "+g, err)
				continue
			}
			sort.Strings(watchers)
			key := strings.Join(watchers, " ") + "|" + owner
			o.v.mu.Lock()
			o.v.holders[g], o.v.lockOwner[g] = watchers, owner
			o.v.mu.Unlock()
			if prev[g] != key {
				o.tl.add(event{Kind: evHolders, Guest: g, Values: watchers, Detail: "lock owner " + orNone(owner)})
				prev[g] = key
			}
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (o *observer) watchBlocklist(ctx context.Context) {
	prev := ""
	for tick(ctx, blocklistPeriod) {
		entries, err := o.ceph.blocklist()
		if err != nil {
			o.noteOnce("blocklist", err)
			continue
		}
		sort.Strings(entries)
		o.v.mu.Lock()
		o.v.blocklist = entries
		o.v.mu.Unlock()
		if s := strings.Join(entries, " "); s != prev {
			o.tl.add(event{Kind: evBlocklist, Values: entries})
			prev = s
		}
	}
}

// ---- views for the nemesis --------------------------------------------------------------------

// where returns, per guest, the nodes whose libvirt runs it, and whether every node that
// is on answered.
func (o *observer) where() (map[string][]string, bool) {
	o.v.mu.Lock()
	defer o.v.mu.Unlock()
	out := map[string][]string{}
	complete := true
	for i := 1; i <= o.lab.nodes; i++ {
		doms, ok := o.v.domains[i]
		if !ok {
			continue
		}
		if !o.v.libvirtUp[i] {
			complete = false
		}
		for g, st := range doms {
			if st == "running" {
				out[g] = append(out[g], nodeName(i))
			}
		}
	}
	return out, complete
}

// settled reports whether every guest runs exactly once, where Pacemaker says it is
// Started, with nothing failed, and lists what is not so.
func (o *observer) settled(since time.Time) (bool, []string) {
	run, complete := o.where()
	o.v.mu.Lock()
	defer o.v.mu.Unlock()
	var why []string
	if !complete {
		why = append(why, "a libvirtd does not answer")
	}
	if o.v.pcmkAt.Before(since) {
		why = append(why, "no fresh Pacemaker view")
	}
	for _, g := range o.guests {
		switch nodes := run[g]; {
		case len(nodes) != 1:
			why = append(why, fmt.Sprintf("%s runs on %d nodes", g, len(nodes)))
		case o.v.placement[g] != nodes[0]:
			why = append(why, fmt.Sprintf("%s runs on %s, Pacemaker has it on %q", g, nodes[0], o.v.placement[g]))
		case o.v.failed[g]:
			why = append(why, g+" failed")
		}
	}
	return len(why) == 0, why
}

// ackFresh is how recent a guest's last acknowledged write must be for its disk to count
// as working: the writer acknowledges every 100 ms.
const ackFresh = 3 * time.Second

// writing reports whether every guest acknowledged a write since t and within ackFresh:
// its I/O works, wherever it runs (a guest that runs but whose storage hangs is not
// recovered), and lists those that did not.
func (o *observer) writing(t time.Time) (bool, []string) {
	o.v.mu.Lock()
	defer o.v.mu.Unlock()
	var why []string
	for _, g := range o.guests {
		if last := o.v.lastAck[g]; last.Before(t) || time.Since(last) > ackFresh {
			why = append(why, g+" acknowledges no writes")
		}
	}
	return len(why) == 0, why
}

// nodesOnline reports whether Pacemaker sees every node online.
func (o *observer) nodesOnline() bool {
	o.v.mu.Lock()
	defer o.v.mu.Unlock()
	return len(o.v.online) == o.lab.nodes
}

// failuresNow are the failed actions in the latest Pacemaker view.
func (o *observer) failuresNow() []string {
	o.v.mu.Lock()
	defer o.v.mu.Unlock()
	return append([]string(nil), o.v.failures...)
}

// guestsOn lists the guests Pacemaker has Started on node.
func (o *observer) guestsOn(node string) []string {
	o.v.mu.Lock()
	defer o.v.mu.Unlock()
	var out []string
	for g, n := range o.v.placement {
		if n == node {
			out = append(out, g)
		}
	}
	sort.Strings(out)
	return out
}

// ---- the stand-in hardware watchdogs ----------------------------------------------------------

// watchdogs plays each node's hardware watchdog: the heartbeat daemon rewrites its
// watchdog file at every feed (watchdog_device=file:DIR/wd-%n, "timeout_ms=N"); a node whose
// file is older than its timeout is reset: powered off, as a real watchdog would (the node's
// cluster fences it, the nemesis powers it on again).
func (o *observer) watchdogs(ctx context.Context) {
	for tick(ctx, 100*time.Millisecond) {
		for i := 1; i <= o.lab.nodes; i++ {
			file := filepath.Join(o.cl.dir, "wd-"+nodeName(i))
			if !o.lab.on(i) {
				os.Remove(file)
				continue
			}
			st, err := os.Stat(file)
			if err != nil {
				continue
			}
			data, _ := os.ReadFile(file)
			var ms int64
			fmt.Sscanf(string(data), "timeout_ms=%d", &ms)
			if ms <= 0 || time.Since(st.ModTime()) < time.Duration(ms)*time.Millisecond {
				continue
			}
			os.Remove(file)
			o.tl.add(event{Kind: evWatchdog, Node: nodeName(i), Detail: fmt.Sprintf("not fed for %d ms: reset", ms)})
			_, _ = o.lab.script(time.Minute, "nodes.sh", "kill", strconv.Itoa(i))
		}
	}
}
