package capacity

import (
	"os"
	"strings"
	"testing"
)

// TestFixtureAgreesWithPacemaker: testdata/three-nodes.xml was made with
// Pacemaker 2.1.5's own tools (cibadmin, crm_attribute and crm_resource on a
// CIB file, then crm_simulate to start everything): three nodes of 4 cpu and
// 4096 MiB, vm1..vm4 (1 cpu, 1024 MiB), group g1 (512 + 256 MiB), clone c1
// (1 cpu an instance) and a disabled off1. crm_simulate --node-fail moved the
// guests exactly where the plan puts them.
func TestFixtureAgreesWithPacemaker(t *testing.T) {
	data, err := os.ReadFile("testdata/three-nodes.xml")
	if err != nil {
		t.Fatal(err)
	}
	r := Plan(mustParse(t, data))
	if !r.Survivable || r.PlacementStrategy != "balanced" || strings.Join(r.Attributes, " ") != "cpu host_memory hv_memory" {
		t.Fatalf("report: %+v", r)
	}
	load := map[string]Amounts{
		"node1": {"cpu": 3, "hv_memory": 2048, "host_memory": 0},
		"node2": {"cpu": 2, "hv_memory": 1792, "host_memory": 0},
		"node3": {"cpu": 2, "hv_memory": 1024, "host_memory": 0},
	}
	for _, n := range r.Nodes {
		if !equalMaps(n.Load, load[n.Name]) || n.State != Online || n.Capacity["hv_memory"] != 4096 {
			t.Errorf("node %s: %+v", n.Name, n)
		}
	}
	want := map[string]map[string]string{
		// crm_simulate -x three-nodes.xml --node-fail nodeN --simulate
		"node1": {"vm1": "node3", "vm4": "node2", "c1p": CloneLimit},
		"node2": {"vm2": "node3", "g1a": "node1", "g1b": "node1", "c1p": CloneLimit},
		"node3": {"vm3": "node2", "c1p": CloneLimit},
	}
	for node, dest := range want {
		f := failure(t, r, node)
		if got := destinations(f); !equalMaps(got, dest) || f.Status != StatusOK || len(f.Unplaced) != 0 {
			t.Errorf("loss of %s: %v (%s), want %v", node, got, f.Status, dest)
		}
	}
	for _, n := range r.Nodes {
		for _, g := range n.Guests {
			if g == "off1" {
				t.Fatal("the disabled off1 counts")
			}
		}
	}
}

// TestCrmMonAgreesWithHistory: crm_mon's view of the fixture (CIB_file=...
// crm_mon --output-as=xml) gives the same report as its status section.
func TestCrmMonAgreesWithHistory(t *testing.T) {
	cib, _ := os.ReadFile("testdata/three-nodes.xml")
	mon, err := os.ReadFile("testdata/three-nodes.crm_mon.xml")
	if err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, cib)
	fromHistory := Plan(c)
	if err := ApplyCrmMon(c, mon); err != nil {
		t.Fatal(err)
	}
	fromMon := Plan(c)
	for i := range fromHistory.Nodes {
		a, b := fromHistory.Nodes[i], fromMon.Nodes[i]
		if a.Name != b.Name || a.State != b.State || !equalMaps(a.Load, b.Load) || strings.Join(a.Guests, " ") != strings.Join(b.Guests, " ") {
			t.Errorf("node %s: history %+v, crm_mon %+v", a.Name, a, b)
		}
	}
	for i := range fromHistory.Failures {
		if !equalMaps(destinations(fromHistory.Failures[i]), destinations(fromMon.Failures[i])) {
			t.Errorf("failure %d differs: %+v / %+v", i, fromHistory.Failures[i], fromMon.Failures[i])
		}
	}
}

// labLayout is the lab test's layout: node1 4 cpu / 4096 MiB, node2 and
// node3 2 cpu / 2048 MiB; vm1+vm2 on node1, vm3 on node2, vm4 on node3.
func labLayout(vm2 string) cibSpec {
	return cibSpec{
		Nodes: []string{"node1:cpu=4,hv_memory=4096,host_memory=4096", "node2:cpu=2,hv_memory=2048,host_memory=2048",
			"node3:cpu=2,hv_memory=2048,host_memory=2048"},
		Resources: prim("vm1", "cpu=1,hv_memory=1024,host_memory=1024") + prim("vm2", vm2) +
			prim("vm3", "cpu=1,hv_memory=1024,host_memory=1024") + prim("vm4", "cpu=1,hv_memory=1024,host_memory=1024"),
		Placement: map[string][]string{"vm1": {"node1"}, "vm2": {"node1"}, "vm3": {"node2"}, "vm4": {"node3"}},
	}
}

// TestShortfall: raising vm2 to 2 cpu / 2048 MiB leaves it no room when node1
// is lost: vm1 takes node2, node3 keeps 1 cpu and 1024 MiB free, so the
// survivors lack 1 cpu and 1024 MiB of each memory.
func TestShortfall(t *testing.T) {
	r := mustPlan(t, labLayout("cpu=1,hv_memory=1024,host_memory=1024"))
	if !r.Survivable {
		t.Fatalf("layout 1 should survive any loss: %+v", r.Failures)
	}
	if got := destinations(failure(t, r, "node1")); !equalMaps(got, map[string]string{"vm1": "node2", "vm2": "node3"}) {
		t.Fatalf("loss of node1: %v", got)
	}
	r = mustPlan(t, labLayout("cpu=2,hv_memory=2048,host_memory=2048"))
	if r.Survivable {
		t.Fatal("layout 2 survives")
	}
	f := failure(t, r, "node1")
	want := Amounts{"cpu": 1, "hv_memory": 1024, "host_memory": 1024}
	if f.Status != StatusShort || strings.Join(f.Unplaced, " ") != "vm2" || !equalMaps(f.Shortfall, want) || f.Note != "" {
		t.Fatalf("loss of node1: %+v", f)
	}
	if got := destinations(f); !equalMaps(got, map[string]string{"vm2": NoRoom, "vm1": "node2"}) || f.Guests[0].ID != "vm2" {
		t.Fatalf("largest first, vm1 on node2: %+v", f.Guests)
	}
	if !equalMaps(f.FreeAfter["node3"], Amounts{"cpu": 1, "hv_memory": 1024, "host_memory": 1024}) ||
		!equalMaps(f.FreeAfter["node2"], Amounts{"cpu": 0, "hv_memory": 0, "host_memory": 0}) {
		t.Fatalf("free after: %+v", f.FreeAfter)
	}
	for _, n := range []string{"node2", "node3"} {
		if f := failure(t, r, n); f.Status != StatusOK || !equalMaps(f.Shortfall, Amounts{"cpu": 0, "hv_memory": 0, "host_memory": 0}) {
			t.Errorf("loss of %s: %+v", n, f)
		}
	}
}

// TestFragmentedRoom: the survivors have 2048 MiB free between them, but
// 1024 each: a 1536 MiB guest finds no room and the shortfall is 0.
func TestFragmentedRoom(t *testing.T) {
	s := cibSpec{
		Nodes:     []string{"a:hv_memory=4096", "b:hv_memory=2048", "c:hv_memory=2048"},
		Resources: prim("big", "hv_memory=1536") + prim("x", "hv_memory=1024") + prim("y", "hv_memory=1024"),
		Placement: map[string][]string{"big": {"a"}, "x": {"b"}, "y": {"c"}},
	}
	f := failure(t, mustPlan(t, s), "a")
	if f.Status != StatusShort || f.Shortfall["hv_memory"] != 0 || !strings.Contains(f.Note, "no single one has room for big") {
		t.Fatalf("%+v", f)
	}
}

// TestMissingAttributeIsZero: Pacemaker counts an attribute a node does not
// define as capacity 0, so a guest that asks for cpu cannot go to a node
// without cpu capacity, however much memory it has; a guest that asks only
// for memory can.
func TestMissingAttributeIsZero(t *testing.T) {
	s := cibSpec{
		Nodes:     []string{"a:cpu=4,hv_memory=4096", "b:hv_memory=8192"},
		Resources: prim("withcpu", "cpu=1,hv_memory=512") + prim("memonly", "hv_memory=512"),
		Placement: map[string][]string{"withcpu": {"a"}, "memonly": {"a"}},
	}
	r := mustPlan(t, s)
	f := failure(t, r, "a")
	if got := destinations(f); !equalMaps(got, map[string]string{"withcpu": NoRoom, "memonly": "b"}) || f.Shortfall["cpu"] != 1 {
		t.Fatalf("%v %+v", got, f)
	}
	if !hasWarning(r, "node b defines no cpu capacity") {
		t.Fatalf("warnings: %q", r.Warnings)
	}
}

func hasWarning(r *Report, s string) bool {
	for _, w := range r.Warnings {
		if strings.Contains(w, s) {
			return true
		}
	}
	return false
}

// TestGroupMovesTogether: a group needs room for all its members on one node;
// when it fits nowhere, its first member goes alone and the next ones follow
// while they fit (Pacemaker's fallback).
func TestGroupMovesTogether(t *testing.T) {
	group := `<group id="g">` + prim("g1", "hv_memory=1024") + prim("g2", "hv_memory=1024") + prim("g3", "hv_memory=1024") + `</group>`
	s := cibSpec{
		Nodes:     []string{"a:hv_memory=4096", "b:hv_memory=2048", "c:hv_memory=2048"},
		Resources: group,
		Placement: map[string][]string{"g1": {"a"}, "g2": {"a"}, "g3": {"a"}},
	}
	f := failure(t, mustPlan(t, s), "a")
	if got := destinations(f); !equalMaps(got, map[string]string{"g1": "b", "g2": "b", "g3": NoRoom}) || f.Guests[0].Group != "g" {
		t.Fatalf("%v", got)
	}
	if f.Shortfall["hv_memory"] != 0 || f.Note == "" {
		t.Fatalf("c keeps 2048 free: %+v", f)
	}
	// With room for all three, they stay together.
	s.Nodes[2] = "c:hv_memory=3072"
	if got := destinations(failure(t, mustPlan(t, s), "a")); !equalMaps(got, map[string]string{"g1": "c", "g2": "c", "g3": "c"}) {
		t.Fatalf("%v", got)
	}
}

// TestBans: a -INFINITY location constraint (pcs resource ban) keeps a guest
// off a node, also through its group; with none left it is not-allowed.
// Positive scores do not restrict anything.
func TestBans(t *testing.T) {
	s := cibSpec{
		Nodes:     []string{"a:hv_memory=4096", "b:hv_memory=4096", "c:hv_memory=2048"},
		Resources: prim("vm", "hv_memory=1024") + `<group id="g">` + prim("m", "hv_memory=512") + `</group>`,
		Constraints: `<rsc_location id="ban-vm-b" rsc="vm" node="b" score="-INFINITY"/>` +
			`<rsc_location id="pref-vm-b" rsc="vm" node="b" score="100"/>` +
			`<rsc_location id="ban-m-b" rsc="m" node="b" score="-INFINITY"/>` +
			`<rsc_location id="ban-g-c" rsc="g" node="c" score="-inf"/>`,
		Placement: map[string][]string{"vm": {"a"}, "m": {"a"}},
	}
	f := failure(t, mustPlan(t, s), "a")
	// "-inf" is no score Pacemaker knows: that constraint is ignored with a warning.
	if got := destinations(f); !equalMaps(got, map[string]string{"vm": "c", "m": "c"}) {
		t.Fatalf("%v", got)
	}
	s.Constraints = strings.Replace(s.Constraints, `score="-inf"`, `score="-INFINITY"`, 1)
	f = failure(t, mustPlan(t, s), "a")
	if got := destinations(f); !equalMaps(got, map[string]string{"vm": "c", "m": NotAllowed}) || f.Status != StatusShort ||
		!strings.Contains(f.Note, "allow m on no survivor") || f.Shortfall["hv_memory"] != 0 {
		t.Fatalf("%v %+v", got, f)
	}
}

// TestOptInCluster: with symmetric-cluster=false a resource runs only where a
// constraint allows it.
func TestOptInCluster(t *testing.T) {
	s := cibSpec{
		Options:   map[string]string{"symmetric-cluster": "false"},
		Nodes:     []string{"a:hv_memory=4096", "b:hv_memory=4096", "c:hv_memory=4096"},
		Resources: prim("vm", "hv_memory=1024"),
		Constraints: `<rsc_location id="l1" rsc="vm" node="a" score="100"/>` +
			`<rsc_location id="l2" rsc="vm" node="c" score="0"/>`,
		Placement: map[string][]string{"vm": {"a"}},
	}
	if got := destinations(failure(t, mustPlan(t, s), "a")); got["vm"] != "c" {
		t.Fatalf("%v", got)
	}
}

// TestCloneLimits: a clone instance moves only when the clone may run another
// instance; with clone-max 2 of 3 nodes it does, and needs room.
func TestCloneLimits(t *testing.T) {
	clone := func(m string) string {
		return `<clone id="c">` + m + prim("p", "cpu=1") + `</clone>`
	}
	s := cibSpec{
		Nodes:     []string{"a:cpu=2", "b:cpu=2", "c:cpu=1"},
		Resources: clone(meta("c", "clone-max", "2")) + prim("vm", "cpu=1"),
		Placement: map[string][]string{"p": {"a", "b"}, "vm": {"c"}},
	}
	r := mustPlan(t, s)
	if got := destinations(failure(t, r, "a")); !equalMaps(got, map[string]string{"p": NoRoom}) {
		t.Fatalf("clone-max 2: %v", got)
	}
	if got := destinations(failure(t, r, "c")); !equalMaps(got, map[string]string{"vm": "a"}) {
		t.Fatalf("%v", got)
	}
	s.Resources = clone(meta("c", "clone-max", "2")) // c has room now
	if got := destinations(failure(t, mustPlan(t, s), "a")); !equalMaps(got, map[string]string{"p": "c"}) {
		t.Fatalf("%v", got)
	}
	s.Resources = clone("")
	s.Placement = map[string][]string{"p": {"a", "b", "c"}}
	if f := failure(t, mustPlan(t, s), "a"); !equalMaps(destinations(f), map[string]string{"p": CloneLimit}) || f.Status != StatusOK {
		t.Fatalf("default clone-max: %+v", f)
	}
}

// TestExcludedResources: a disabled resource (its own target-role, its
// group's or its clone's), the group members after a disabled member, and
// resources without utilization count nowhere.
func TestExcludedResources(t *testing.T) {
	s := cibSpec{
		Nodes: []string{"a:hv_memory=4096", "b:hv_memory=4096"},
		Resources: prim("off", "hv_memory=9999", meta("off", "target-role", "Stopped")) +
			prim("plain", "") +
			`<group id="g">` + prim("g1", "hv_memory=1") + prim("g2", "hv_memory=2", meta("g2", "target-role", "stopped")) + prim("g3", "hv_memory=4") + `</group>` +
			`<group id="h">` + meta("h", "target-role", "Stopped") + prim("h1", "hv_memory=8") + `</group>` +
			`<clone id="c">` + meta("c", "target-role", "Stopped") + prim("c1", "hv_memory=16") + `</clone>`,
		Placement: map[string][]string{"off": {"a"}, "plain": {"a"}, "g1": {"a"}, "g2": {"a"}, "g3": {"a"}, "h1": {"a"}, "c1": {"a"}},
	}
	r := mustPlan(t, s)
	if r.Nodes[0].Load["hv_memory"] != 1 || strings.Join(r.Nodes[0].Guests, " ") != "g1" {
		t.Fatalf("%+v", r.Nodes[0])
	}
}

// TestNodeStates: offline and standby nodes take nothing and do not fail;
// a standby set for this boot only (transient attribute) counts too.
func TestNodeStates(t *testing.T) {
	s := cibSpec{
		Nodes:     []string{"a:hv_memory=4096", "b:hv_memory=4096@standby", "c:hv_memory=4096@offline", "d:hv_memory=1024"},
		Resources: prim("vm", "hv_memory=2048"),
		Placement: map[string][]string{"vm": {"a"}},
	}
	r := mustPlan(t, s)
	if len(r.Failures) != 2 || r.Failures[0].Node != "a" || r.Failures[1].Node != "d" {
		t.Fatalf("failures: %+v", r.Failures)
	}
	if f := failure(t, r, "a"); f.Status != StatusShort || f.Shortfall["hv_memory"] != 1024 {
		t.Fatalf("%+v", f)
	}
	states := map[string]NodeState{}
	for _, n := range r.Nodes {
		states[n.Name] = n.State
	}
	if !equalMaps(states, map[string]NodeState{"a": Online, "b": Standby, "c": Offline, "d": Online}) {
		t.Fatalf("%v", states)
	}
	// Pacemaker 2.1.7 and later write timestamps; a transient standby.
	data := strings.Replace(string(s.xml()), `uname="d" in_ccm="true" crmd="online" join="member" expected="member">`,
		`uname="d" in_ccm="1732240000" crmd="1732240000"><transient_attributes id="4"><instance_attributes id="status-4">`+
			`<nvpair id="status-4-standby" name="standby" value="on"/></instance_attributes></transient_attributes>`, 1)
	c := mustParse(t, []byte(data))
	if n := c.node("d"); n.State != Standby {
		t.Fatalf("d: %s", n.State)
	}
}

// TestDefaultStrategyWarns: with placement-strategy default Pacemaker ignores
// utilization; the plan still runs and says so.
func TestDefaultStrategyWarns(t *testing.T) {
	s := labLayout("cpu=1,hv_memory=1024")
	s.Options = map[string]string{"placement-strategy": "default"}
	r := mustPlan(t, s)
	if r.PlacementStrategy != "default" || !hasWarning(r, "ignores utilization") || !r.Survivable {
		t.Fatalf("%+v", r)
	}
	s.Options = map[string]string{"placement-strategy": "fastest"}
	if r := mustPlan(t, s); r.PlacementStrategy != "default" || !hasWarning(r, `"fastest" is not one Pacemaker knows`) {
		t.Fatalf("%+v", r)
	}
}

// TestOverCapacityWarns: a node already over its capacity is pointed out.
func TestOverCapacityWarns(t *testing.T) {
	s := cibSpec{
		Nodes:     []string{"a:hv_memory=1024", "b:hv_memory=4096"},
		Resources: prim("vm", "hv_memory=2048"),
		Placement: map[string][]string{"vm": {"a"}},
	}
	r := mustPlan(t, s)
	if !hasWarning(r, "node a uses more than its capacity: hv_memory 2048 of 1024") || r.Nodes[0].Free["hv_memory"] != -1024 {
		t.Fatalf("%q %+v", r.Warnings, r.Nodes[0])
	}
}

// TestOneNode: the only node's loss leaves no survivor; the shortfall is all
// its guests need.
func TestOneNode(t *testing.T) {
	s := cibSpec{Nodes: []string{"a:cpu=8"}, Resources: prim("vm", "cpu=3"), Placement: map[string][]string{"vm": {"a"}}}
	f := failure(t, mustPlan(t, s), "a")
	if f.Status != StatusShort || f.Shortfall["cpu"] != 3 {
		t.Fatalf("%+v", f)
	}
}

// TestMultiActive: a guest running on two nodes (a live migration under way)
// loads both, and the loss of one leaves it on the other.
func TestMultiActive(t *testing.T) {
	s := cibSpec{Nodes: []string{"a:cpu=8", "b:cpu=8"}, Resources: prim("vm", "cpu=3"), Placement: map[string][]string{"vm": {"a", "b"}}}
	r := mustPlan(t, s)
	if r.Nodes[0].Load["cpu"] != 3 || r.Nodes[1].Load["cpu"] != 3 || len(failure(t, r, "a").Guests) != 0 {
		t.Fatalf("%+v", r)
	}
}
