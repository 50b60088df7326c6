//go:build lab

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/capacity"
)

// capacityLab is the 3-node lab with placement-strategy balanced and four
// guests (ocf:heartbeat:Dummy with utilization set by crm_resource, as
// ocf:kvmha:VirtualDomain sets it).
type capacityLab struct {
	t     *testing.T
	kvmha string
}

func (l *capacityLab) onNode(i string, args ...string) (string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(labDir(), "nodes.sh"), append([]string{"exec", i}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return stdout.String() + stderr.String(), exit.ExitCode(), nil
	}
	return stdout.String() + stderr.String(), 0, err
}

func (l *capacityLab) must(i string, args ...string) string {
	l.t.Helper()
	out, code, err := l.onNode(i, args...)
	if err != nil || code != 0 {
		l.t.Fatalf("node%s: %s: exit %d %v\n%s", i, strings.Join(args, " "), code, err, out)
	}
	return out
}

// capacity runs kvmha capacity inside node1 and returns its exit code, stdout
// and stderr.
func (l *capacityLab) capacity(args ...string) (int, string, string) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(labDir(), "nodes.sh"), append([]string{"exec", "1", l.kvmha, "capacity"}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		l.t.Fatalf("kvmha capacity: %v", err)
	}
	l.t.Logf("kvmha capacity %s: exit %d in %.2fs", strings.Join(args, " "), code, time.Since(start).Seconds())
	return code, stdout.String(), stderr.String()
}

func (l *capacityLab) report(args ...string) (int, *capacity.Report) {
	l.t.Helper()
	code, out, errs := l.capacity(append(args, "--output", "json")...)
	var r capacity.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		l.t.Fatalf("kvmha capacity: exit %d, not JSON (%v)\n%s\n%s", code, err, out, errs)
	}
	return code, &r
}

func (l *capacityLab) status() *clusterStatus {
	out, code, err := l.onNode("1", "crm_mon", "-1", "--output-as=xml")
	if err != nil || code != 0 {
		return &clusterStatus{}
	}
	st, _ := parseStatus([]byte(out))
	return st
}

// setUtilization sets a guest's utilization the way VirtualDomain does.
func (l *capacityLab) setUtilization(vm string, cpu, mem int) {
	for attr, v := range map[string]int{"cpu": cpu, "hv_memory": mem, "host_memory": mem} {
		l.must("1", "crm_resource", "--resource", vm, "--utilization", "--set-parameter", attr, "--parameter-value", fmt.Sprint(v))
	}
}

// settle waits until the cluster is idle with every guest where the layout
// puts it.
func (l *capacityLab) settle(where map[string]string) {
	l.t.Helper()
	l.must("1", "crm_resource", "--wait", "--timeout", "60s")
	took := waitFor(l.t, 90*time.Second, "guests on their nodes", func() bool {
		st := l.status()
		for vm, node := range where {
			if st.runningOn(vm) != node {
				return false
			}
		}
		return true
	})
	l.t.Logf("guests placed %.1fs after the change", took.Seconds())
}

// savedCIB writes the live CIB (cibadmin --query in node1) to a host file.
func (l *capacityLab) savedCIB(name string) string {
	path := filepath.Join(l.t.TempDir(), name)
	if err := os.WriteFile(path, []byte(l.must("1", "cibadmin", "--query")), 0o644); err != nil {
		l.t.Fatal(err)
	}
	return path
}

// pacemakerSurvivors asks Pacemaker's own scheduler: crm_simulate on the
// saved CIB fails node and returns the guests running afterwards.
func pacemakerSurvivors(t *testing.T, cib, node string) []string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "after-"+node+".xml")
	for _, args := range [][]string{{"-x", cib, "--node-fail", node, "-S", "-O", out}, {"-x", out, "-S", "-O", out}} {
		if msg, err := exec.Command("crm_simulate", args...).CombinedOutput(); err != nil {
			t.Fatalf("crm_simulate %s: %v\n%s", strings.Join(args, " "), err, msg)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	c, err := capacity.ParseCIB(data)
	if err != nil {
		t.Fatalf("crm_simulate's CIB: %v", err)
	}
	var running []string
	for _, n := range capacity.Plan(c).Nodes {
		running = append(running, n.Guests...)
	}
	sort.Strings(running)
	return running
}

func destinationsOf(f capacity.Failure) map[string]string {
	m := map[string]string{}
	for _, g := range f.Guests {
		m[g.ID] = g.To
		if g.Result != capacity.Placed {
			m[g.ID] = g.Result
		}
	}
	return m
}

// TestCapacityThreeNodeLab: kvmha capacity in a real 3-node Pacemaker cluster
// with placement-strategy balanced. node1 has 4 cpu and 4096 MiB (hv_memory,
// host_memory), node2 and node3 2 cpu and 2048 MiB; vm1 and vm2 run on node1,
// vm3 on node2, vm4 on node3, each 1 cpu and 1024 MiB.
//   - Layout 1 survives the loss of any node: exit 0, every loss OK, the loads
//     as configured, node1's guests spread over node2 and node3.
//   - Layout 2 raises vm2 to 2 cpu and 2048 MiB (it stays on node1): the loss of
//     node1 is SHORT - vm2 finds no room, the survivors lack 1 cpu and 1024 MiB
//     of each memory - the others are OK, exit 1; the table says the same.
//   - Both times, kvmha capacity --cib on the saved CIB (placement from the
//     status section's operation history) gives the same report as the live
//     reading (crm_mon), and Pacemaker's own scheduler (crm_simulate
//     --node-fail on the saved CIB) keeps every guest running exactly when the
//     report says OK, and stops vm2 alone when node1 is lost in layout 2.
func TestCapacityThreeNodeLab(t *testing.T) {
	kvmha := buildAgent(t, "cmd/kvmha")
	lockPacemaker(t)
	t.Setenv("LAB_NODES_STONITH", "false") // fencing plays no part here
	start := time.Now()
	if out, err := labScript(t, 3*time.Minute, "nodes.sh", "up", "3"); err != nil {
		t.Fatalf("nodes.sh up: %v\n%s", err, out)
	}
	t.Logf("3 nodes online in %.1fs", time.Since(start).Seconds())
	t.Cleanup(func() {
		if out, err := labScript(t, 3*time.Minute, "nodes.sh", "down"); err != nil {
			t.Errorf("nodes.sh down: %v\n%s", err, out)
		}
	})
	l := &capacityLab{t: t, kvmha: kvmha}

	l.must("1", "crm_attribute", "--type", "crm_config", "--name", "placement-strategy", "--update", "balanced")
	l.must("1", "pcs", "resource", "defaults", "update", "resource-stickiness=100")
	for node, size := range map[string]int{"node1": 4, "node2": 2, "node3": 2} {
		for attr, v := range map[string]int{"cpu": size, "hv_memory": size * 1024, "host_memory": size * 1024} {
			l.must("1", "crm_attribute", "--node", node, "--utilization", "--name", attr, "--update", fmt.Sprint(v))
		}
	}
	where := map[string]string{"vm1": "node1", "vm2": "node1", "vm3": "node2", "vm4": "node3"}
	for _, vm := range []string{"vm1", "vm2", "vm3", "vm4"} {
		l.must("1", "pcs", "resource", "create", vm, "ocf:heartbeat:Dummy", "op", "monitor", "interval=10s", "--disabled")
		l.must("1", "pcs", "constraint", "location", vm, "prefers", where[vm]+"=100")
		l.setUtilization(vm, 1, 1024)
	}
	l.must("1", "pcs", "resource", "enable", "vm1", "vm2", "vm3", "vm4")
	l.settle(where)

	// Layout 1: any single loss is survivable.
	code, r := l.report()
	if code != 0 || !r.Survivable || r.PlacementStrategy != "balanced" || len(r.Failures) != 3 {
		t.Fatalf("layout 1: exit %d, %+v", code, r)
	}
	wantLoad := map[string]capacity.Amounts{
		"node1": {"cpu": 2, "hv_memory": 2048, "host_memory": 2048},
		"node2": {"cpu": 1, "hv_memory": 1024, "host_memory": 1024},
		"node3": {"cpu": 1, "hv_memory": 1024, "host_memory": 1024},
	}
	wantGuests := map[string]string{"node1": "vm1 vm2", "node2": "vm3", "node3": "vm4"}
	for _, n := range r.Nodes {
		if n.State != capacity.Online || !reflect.DeepEqual(n.Load, wantLoad[n.Name]) || strings.Join(n.Guests, " ") != wantGuests[n.Name] {
			t.Errorf("layout 1, node %s: %+v", n.Name, n)
		}
	}
	for _, f := range r.Failures {
		if f.Status != capacity.StatusOK || len(f.Unplaced) != 0 {
			t.Errorf("layout 1, loss of %s: %+v", f.Node, f)
		}
	}
	if got := destinationsOf(r.Failures[0]); !reflect.DeepEqual(got, map[string]string{"vm1": "node2", "vm2": "node3"}) {
		t.Errorf("layout 1, loss of node1: %v", got)
	}
	l.checkOffline(r, "layout1.xml")

	// Layout 2: vm2 grows; node1's loss leaves it no room.
	l.setUtilization("vm2", 2, 2048)
	l.settle(where)
	code, r = l.report()
	if code != 1 || r.Survivable {
		t.Fatalf("layout 2: exit %d, %+v", code, r)
	}
	for _, f := range r.Failures {
		switch f.Node {
		case "node1":
			want := capacity.Amounts{"cpu": 1, "hv_memory": 1024, "host_memory": 1024}
			if f.Status != capacity.StatusShort || strings.Join(f.Unplaced, " ") != "vm2" || !reflect.DeepEqual(f.Shortfall, want) ||
				!reflect.DeepEqual(destinationsOf(f), map[string]string{"vm2": capacity.NoRoom, "vm1": "node2"}) {
				t.Errorf("layout 2, loss of node1: %+v", f)
			}
		default:
			if f.Status != capacity.StatusOK {
				t.Errorf("layout 2, loss of %s: %+v", f.Node, f)
			}
		}
	}
	code, table, errs := l.capacity()
	for _, want := range []string{
		"node1  online  3/4  3072/4096    3072/4096  vm1 vm2",
		"loss of node1: SHORT by cpu 1, host_memory 1024 MiB, hv_memory 1024 MiB",
		"vm2  cpu 2, host_memory 2048 MiB, hv_memory 2048 MiB  -> nowhere: no room",
		"loss of node2: OK", "loss of node3: OK",
		"The cluster cannot lose node1 without stopping guests.",
	} {
		if code != 1 || !strings.Contains(table, want) {
			t.Errorf("table (exit %d) lacks %q:\n%s%s", code, want, table, errs)
		}
	}
	t.Logf("layout 2 table:\n%s", table)
	l.checkOffline(r, "layout2.xml")
}

// checkOffline compares the live report with kvmha capacity --cib on the
// saved CIB, and each verdict with what crm_simulate does on that CIB.
func (l *capacityLab) checkOffline(live *capacity.Report, name string) {
	t := l.t
	t.Helper()
	cib := l.savedCIB(name)
	code, offline := l.report("--cib", cib)
	if (code == 0) != live.Survivable || !reflect.DeepEqual(offline.Nodes, live.Nodes) || !reflect.DeepEqual(offline.Failures, live.Failures) {
		t.Errorf("%s: --cib (exit %d) differs from the live reading:\n%+v\n%+v", name, code, offline, live)
	}
	all := "vm1 vm2 vm3 vm4"
	for _, f := range live.Failures {
		running := pacemakerSurvivors(t, cib, f.Node)
		var lost []string
		for _, vm := range strings.Fields(all) {
			if !slices.Contains(running, vm) {
				lost = append(lost, vm)
			}
		}
		if strings.Join(lost, " ") != strings.Join(f.Unplaced, " ") {
			t.Errorf("%s, loss of %s: crm_simulate stops %v, kvmha capacity says %s %v", name, f.Node, lost, f.Status, f.Unplaced)
		}
		t.Logf("%s, loss of %s: kvmha capacity %s, crm_simulate keeps %v running", name, f.Node, f.Status, running)
	}
}
