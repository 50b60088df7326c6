package capacity

import (
	"fmt"
	"strings"
	"testing"
)

// TestBadInput: what is not a readable CIB gets a one-line error naming the
// problem, never a panic.
func TestBadInput(t *testing.T) {
	good := string(labLayout("cpu=1").xml())
	cases := map[string]struct{ data, want string }{
		"empty":          {"", "no XML element"},
		"broken":         {good[:len(good)/2], "not well-formed XML"},
		"garbage":        {"\x00\x01not xml", "not well-formed XML"},
		"other root":     {"<pacemaker-result/>", "root element is <pacemaker-result>, not <cib>"},
		"no config":      {"<cib><status/></cib>", "no configuration section"},
		"word":           {strings.Replace(good, `name="cpu" value="1"`, `name="cpu" value="two"`, 1), `resource vm1: utilization cpu="two" is not a whole number`},
		"negative":       {strings.Replace(good, `name="cpu" value="4"`, `name="cpu" value="-4"`, 1), `node node1: utilization cpu="-4"`},
		"too large":      {strings.Replace(good, `name="cpu" value="4"`, `name="cpu" value="4294967296"`, 1), `node node1: utilization cpu="4294967296"`},
		"fraction":       {strings.Replace(good, `name="cpu" value="1"`, `name="cpu" value="1.5"`, 1), `utilization cpu="1.5"`},
		"primitive noid": {strings.Replace(good, `<primitive id="vm1"`, `<primitive`, 1), "a primitive has no id"},
	}
	for name, tc := range cases {
		_, err := ParseCIB([]byte(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	if _, err := ParseCIB(make([]byte, MaxCIBSize+1)); err == nil {
		t.Error("an oversized CIB was read")
	}
	c := mustParse(t, []byte(good))
	for name, data := range map[string]string{"not XML": "<pacemaker-result", "no nodes": "<pacemaker-result/>", "a CIB": good} {
		if err := ApplyCrmMon(c, []byte(data)); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("crm_mon %s: %v", name, err)
		}
	}
}

// TestValueForms: whitespace and a plus sign are fine, as for Pacemaker.
func TestValueForms(t *testing.T) {
	for _, v := range []string{" 7", "+7", "7 "} {
		got, err := parseAmount("x", "cpu", v)
		if err != nil || got != 7 {
			t.Errorf("%q: %d %v", v, got, err)
		}
	}
	for s, want := range map[string]int{"INFINITY": infinity, "+infinity": infinity, "-INFINITY": -infinity, "-5": -5, "99999999": infinity} {
		if got, ok := parseScore(s); !ok || got != want {
			t.Errorf("score %q: %d %v", s, got, ok)
		}
	}
	if _, ok := parseScore("red"); ok {
		t.Error("red is a health color, not a score")
	}
	for id, want := range map[string]string{"p:0": "p", "p:12": "p", "p": "p", "p:x": "p:x", ":1": ":1"} {
		if got := baseID(id); got != want {
			t.Errorf("baseID(%q) = %q", id, got)
		}
	}
}

// TestSetsTemplatesAndRefs: nvpair sets merge by score, first value wins; a
// set with a rule is skipped with a warning; id-refs are followed; a
// primitive inherits its template's utilization and may override it.
func TestSetsTemplatesAndRefs(t *testing.T) {
	res := `<template id="vmt" class="ocf" provider="kvmha" type="VirtualDomain">` + utilXML("vmt", "cpu=2,hv_memory=2048") + `</template>` +
		`<primitive id="a" template="vmt">` + utilXML("a", "hv_memory=512") + `</primitive>` +
		`<primitive id="b" class="ocf" provider="heartbeat" type="Dummy"><utilization id-ref="a-u"/></primitive>` +
		`<primitive id="c" class="ocf" provider="heartbeat" type="Dummy">` +
		`<utilization id="c-low" score="1"><nvpair id="c-low-m" name="hv_memory" value="100"/><nvpair id="c-low-c" name="cpu" value="1"/></utilization>` +
		`<utilization id="c-high" score="10"><nvpair id="c-high-m" name="hv_memory" value="200"/></utilization>` +
		`<utilization id="c-rule"><rule id="r" score="0"><expression id="e" attribute="#uname" operation="eq" value="x"/></rule>` +
		`<nvpair id="c-rule-m" name="hv_memory" value="300"/></utilization>` +
		`<utilization id="c-ref"><nvpair id="c-ref-x" id-ref="vmt-u-cpu"/></utilization></primitive>` +
		`<primitive id="d" template="missing">` + utilXML("d", "cpu=1") + `</primitive>`
	s := cibSpec{Nodes: []string{"n:cpu=8"}, Resources: res, Placement: map[string][]string{"a": {"n"}}}
	c := mustParse(t, s.xml())
	g := c.guests()
	want := map[string]Amounts{
		"a": {"cpu": 2, "hv_memory": 512},
		"b": {"hv_memory": 512},
		"c": {"hv_memory": 200, "cpu": 1},
		"d": {"cpu": 1},
	}
	for id, need := range want {
		if g[id] == nil || !equalMaps(g[id].Need, need) {
			t.Errorf("%s: %+v, want %v", id, g[id], need)
		}
	}
	joined := strings.Join(c.Warnings, "\n")
	if !strings.Contains(joined, `set "c-rule" has a rule`) || !strings.Contains(joined, "template missing, which does not exist") {
		t.Errorf("warnings: %s", joined)
	}
}

// TestIgnoredConstraints: rules, patterns and role-specific constraints do
// not ban; the first two say so.
func TestIgnoredConstraints(t *testing.T) {
	s := cibSpec{
		Nodes:     []string{"a:cpu=4", "b:cpu=4"},
		Resources: prim("vm", "cpu=1"),
		Constraints: `<rsc_location id="rule" rsc="vm"><rule id="r" score="-INFINITY"><expression id="e" attribute="#uname" operation="eq" value="b"/></rule></rsc_location>` +
			`<rsc_location id="pat" rsc-pattern="^v" node="b" score="-INFINITY"/>` +
			`<rsc_location id="role" rsc="vm" role="Promoted" node="b" score="-INFINITY"/>` +
			`<rsc_location id="set" node="b" score="-INFINITY"><resource_set id="s"><resource_ref id="nothing"/></resource_set></rsc_location>`,
		Placement: map[string][]string{"vm": {"a"}},
	}
	r := mustPlan(t, s)
	if got := destinations(failure(t, r, "a")); got["vm"] != "b" {
		t.Fatalf("%v", got)
	}
	if !hasWarning(r, "location constraint rule has rules") || !hasWarning(r, "location constraint pat uses rsc-pattern") {
		t.Fatalf("%q", r.Warnings)
	}
	// A resource set names the guest: then the ban holds.
	s.Constraints = `<rsc_location id="set" node="b" score="-INFINITY"><resource_set id="s"><resource_ref id="vm"/></resource_set></rsc_location>`
	if got := destinations(failure(t, mustPlan(t, s), "a")); got["vm"] != NotAllowed {
		t.Fatalf("%v", got)
	}
}

// TestHistory: the operation history decides whether a resource is active on
// a node.
func TestHistory(t *testing.T) {
	type op struct {
		task           string
		call, rc, stat int
	}
	cases := []struct {
		name   string
		ops    []op
		active bool
	}{
		{"probe: not running", []op{{"monitor", 1, 7, 0}}, false},
		{"probe: running", []op{{"monitor", 1, 0, 0}}, true},
		{"probe: not installed", []op{{"monitor", 1, 5, 0}}, false},
		{"started", []op{{"monitor", 1, 7, 0}, {"start", 2, 0, 0}, {"monitor", 3, 0, 0}}, true},
		{"stopped", []op{{"start", 2, 0, 0}, {"monitor", 3, 0, 0}, {"stop", 4, 0, 0}}, false},
		{"order is call-id, not document order", []op{{"stop", 4, 0, 0}, {"start", 2, 0, 0}}, false},
		{"failed start", []op{{"monitor", 1, 7, 0}, {"start", 2, 1, 0}}, true},
		{"failed start, then stopped", []op{{"start", 2, 1, 0}, {"stop", 3, 0, 0}}, false},
		{"failed stop", []op{{"start", 2, 0, 0}, {"stop", 3, 1, 0}}, true},
		{"timed-out stop", []op{{"start", 2, 0, 0}, {"stop", 3, 1, 2}}, true},
		{"monitor failed", []op{{"start", 2, 0, 0}, {"monitor", 3, 1, 0}}, true},
		{"monitor found it gone", []op{{"start", 2, 0, 0}, {"monitor", 3, 7, 0}}, false},
		{"pending start", []op{{"monitor", 1, 7, 0}, {"start", -1, 0, -1}}, true},
		{"pending stop", []op{{"start", 2, 0, 0}, {"stop", -1, 0, -1}}, true},
		{"pending probe", []op{{"monitor", -1, 0, -1}}, false},
		{"cancelled monitor", []op{{"stop", 3, 0, 0}, {"monitor", 4, 0, 1}}, false},
		{"migrated here", []op{{"monitor", 1, 7, 0}, {"migrate_from", 5, 0, 0}}, true},
		{"migrated away", []op{{"start", 1, 0, 0}, {"migrate_to", 5, 0, 0}, {"stop", 6, 0, 0}}, false},
		{"mid-migration source", []op{{"start", 1, 0, 0}, {"migrate_to", 5, 0, 0}}, true},
		{"promoted", []op{{"start", 1, 0, 0}, {"promote", 2, 0, 0}, {"monitor", 3, 8, 0}}, true},
		{"notify changes nothing", []op{{"monitor", 1, 7, 0}, {"notify", 2, 0, 0}}, false},
		{"no history", nil, false},
	}
	for _, tc := range cases {
		var lrm strings.Builder
		for i, o := range tc.ops {
			fmt.Fprintf(&lrm, `<lrm_rsc_op id="vm_%d" operation="%s" call-id="%d" rc-code="%d" op-status="%d" interval="0" last-rc-change="%d"/>`,
				i, o.task, o.call, o.rc, o.stat, 1700000000+i)
		}
		data := strings.Replace(string(cibSpec{Nodes: []string{"a:cpu=1"}, Resources: prim("vm", "cpu=1")}.xml()),
			`<lrm_resources></lrm_resources>`, `<lrm_resources><lrm_resource id="vm">`+lrm.String()+`</lrm_resource></lrm_resources>`, 1)
		c := mustParse(t, []byte(data))
		if got := len(c.guests()["vm"].Active) == 1; got != tc.active {
			t.Errorf("%s: active %v, want %v", tc.name, got, tc.active)
		}
	}
}

// TestCloneInstancesInHistory: anonymous clone instances appear under the
// primitive's id, unique ones with ":N"; both count per node.
func TestCloneInstancesInHistory(t *testing.T) {
	s := cibSpec{
		Nodes:     []string{"a:cpu=4", "b:cpu=4"},
		Resources: `<clone id="c">` + meta("c", "globally-unique", "true", "clone-node-max", "2") + prim("p", "cpu=1") + `</clone>`,
		Placement: map[string][]string{"p:0": {"a"}, "p:1": {"a"}, "p:2": {"b"}},
	}
	r := mustPlan(t, s)
	if r.Nodes[0].Load["cpu"] != 2 || r.Nodes[1].Load["cpu"] != 1 {
		t.Fatalf("%+v", r.Nodes)
	}
	// Two instances on a: b can take one more (clone-node-max 2), the other
	// is left out by the clone's limit.
	if got := failure(t, r, "a").Guests; len(got) != 2 || got[0].To != "b" || got[1].Result != CloneLimit {
		t.Fatalf("%+v", got)
	}
}
