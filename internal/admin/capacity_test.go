package admin

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/capacity"
	"github.com/kvmha/kvmha/internal/hostcmd"
)

// testCIB is a 3-node CIB: node1 4 cpu / 4096 MiB with vm1 and vm2, node2 and
// node3 2 cpu / 2048 MiB with vm3 and vm4. vm2 asks for vm2cpu cpu and
// vm2mem MiB; the others for 1 and 1024.
func testCIB(vm2cpu, vm2mem int) string {
	var b strings.Builder
	b.WriteString(`<cib><configuration><crm_config><cluster_property_set id="o">` +
		`<nvpair id="o-ps" name="placement-strategy" value="balanced"/></cluster_property_set></crm_config><nodes>`)
	for i, c := range []int{4, 2, 2} {
		fmt.Fprintf(&b, `<node id="%d" uname="node%d"><utilization id="n%d"><nvpair id="n%d-c" name="cpu" value="%d"/>`+
			`<nvpair id="n%d-m" name="hv_memory" value="%d"/></utilization></node>`, i+1, i+1, i+1, i+1, c, i+1, c*1024)
	}
	b.WriteString(`</nodes><resources>`)
	for i := 1; i <= 4; i++ {
		cpu, mem := 1, 1024
		if i == 2 {
			cpu, mem = vm2cpu, vm2mem
		}
		fmt.Fprintf(&b, `<primitive id="vm%d" class="ocf" provider="kvmha" type="VirtualDomain"><utilization id="u%d">`+
			`<nvpair id="u%d-c" name="cpu" value="%d"/><nvpair id="u%d-m" name="hv_memory" value="%d"/></utilization></primitive>`,
			i, i, i, cpu, i, mem)
	}
	b.WriteString(`</resources></configuration><status>`)
	on := map[int][]int{1: {1, 2}, 2: {3}, 3: {4}}
	for n := 1; n <= 3; n++ {
		fmt.Fprintf(&b, `<node_state id="%d" uname="node%d" in_ccm="true" crmd="online"><lrm id="%d"><lrm_resources>`, n, n, n)
		for _, vm := range on[n] {
			fmt.Fprintf(&b, `<lrm_resource id="vm%d"><lrm_rsc_op id="vm%d_last_0" operation="start" call-id="3" rc-code="0" op-status="0"/></lrm_resource>`, vm, vm)
		}
		b.WriteString(`</lrm_resources></lrm></node_state>`)
	}
	b.WriteString(`</status></cib>`)
	return b.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCapacityFromFile: a survivable layout exits 0, a short one 1 with the
// short node and its shortfall in the JSON and the table.
func TestCapacityFromFile(t *testing.T) {
	code, out, errs := run("capacity", "--cib", writeFile(t, "ok.xml", testCIB(1, 1024)), "--output", "json")
	var rep capacity.Report
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || !rep.Survivable || len(rep.Failures) != 3 {
		t.Fatalf("survivable layout: exit %d\n%s\n%s", code, out, errs)
	}
	short := writeFile(t, "short.xml", testCIB(2, 2048))
	code, out, errs = run("capacity", "--cib", short, "-o", "json")
	rep = capacity.Report{}
	if code != 1 || errs != "" || json.Unmarshal([]byte(out), &rep) != nil || rep.Survivable {
		t.Fatalf("short layout: exit %d\n%s\n%s", code, out, errs)
	}
	f := rep.Failures[0]
	if f.Node != "node1" || f.Status != "SHORT" || strings.Join(f.Unplaced, ",") != "vm2" ||
		f.Shortfall["cpu"] != 1 || f.Shortfall["hv_memory"] != 1024 {
		t.Fatalf("loss of node1: %+v", f)
	}
	code, out, _ = run("capacity", "--cib", short)
	if code != 1 || !strings.Contains(out, "loss of node1: SHORT by cpu 1, hv_memory 1024 MiB") ||
		!strings.Contains(out, "vm2  cpu 2, hv_memory 2048 MiB  -> nowhere: no room") {
		t.Fatalf("table: exit %d\n%s", code, out)
	}
}

// TestCapacityFromStdin: --cib - reads the CIB from stdin.
func TestCapacityFromStdin(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old }()
	go func() { w.WriteString(testCIB(1, 1024)); w.Close() }()
	if code, out, errs := run("capacity", "--cib", "-"); code != 0 || !strings.Contains(out, "can lose any one node") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
}

// TestCapacityBadInput: bad usage and unreadable CIBs exit 2 with one line.
func TestCapacityBadInput(t *testing.T) {
	good := testCIB(1, 1024)
	cases := map[string]struct {
		args []string
		want string
	}{
		"output":     {[]string{"--output", "yaml"}, "--output must be table or json"},
		"argument":   {[]string{"cib.xml"}, "did you mean --cib cib.xml"},
		"no file":    {[]string{"--cib", "/nonexistent/cib.xml"}, "cannot read the CIB"},
		"broken XML": {[]string{"--cib", writeFile(t, "broken.xml", good[:100])}, "not well-formed XML"},
		"word": {[]string{"--cib", writeFile(t, "word.xml", strings.Replace(good, `name="hv_memory" value="1024"`, `name="hv_memory" value="1G"`, 1))},
			`resource vm1: utilization hv_memory="1G" is not a whole number`},
	}
	for name, tc := range cases {
		code, out, errs := run(append([]string{"capacity"}, tc.args...)...)
		if code != 2 || out != "" || !strings.Contains(errs, tc.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", name, code, out, errs)
		}
	}
}

// fakeTools puts cibadmin and crm_mon scripts first on PATH.
func fakeTools(t *testing.T, cibadmin, crmMon string) {
	dir := t.TempDir()
	for name, body := range map[string]string{"cibadmin": cibadmin, "crm_mon": crmMon} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
}

// TestCapacityLive: without --cib the configuration comes from cibadmin
// --query and the node states and placement from crm_mon; crm_mon's view wins
// over the status section (here: node3 is in standby and vm2 has moved to
// node2, which leaves node1's vm1 no room).
func TestCapacityLive(t *testing.T) {
	cib := writeFile(t, "cib.xml", testCIB(1, 1024))
	mon := writeFile(t, "mon.xml", `<pacemaker-result api-version="2.25"><nodes>`+
		`<node name="node1" online="true" standby="false" maintenance="false" unclean="false" shutdown="false" pending="false"/>`+
		`<node name="node2" online="true" standby="false" maintenance="false" unclean="false" shutdown="false" pending="false"/>`+
		`<node name="node3" online="true" standby="true" maintenance="false" unclean="false" shutdown="false" pending="false"/>`+
		`</nodes><resources><resource id="vm1" role="Started" active="true"><node name="node1"/></resource>`+
		`<resource id="vm2" role="Started" active="true"><node name="node2"/></resource>`+
		`<resource id="vm3" role="Started" active="true"><node name="node2"/></resource>`+
		`<resource id="vm4" role="Stopped" active="false"/></resources><status code="0" message="OK"/></pacemaker-result>`)
	fakeTools(t, `[ "$1" = --query ] && exec cat `+cib, `[ "$1" = --one-shot ] && [ "$2" = --output-as=xml ] && exec cat `+mon)
	code, out, errs := run("capacity", "-o", "json")
	var rep capacity.Report
	if code != 1 || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	// node3 is in standby: only node1 and node2 can fail or take guests.
	if len(rep.Failures) != 2 || rep.Nodes[2].State != capacity.Standby || strings.Join(rep.Nodes[1].Guests, " ") != "vm2 vm3" {
		t.Fatalf("%+v", rep)
	}
	if f := rep.Failures[0]; f.Node != "node1" || f.Status != "SHORT" || f.Shortfall["hv_memory"] != 1024 || strings.Join(f.Unplaced, " ") != "vm1" {
		t.Fatalf("loss of node1: %+v", f)
	}
	if f := rep.Failures[1]; f.Node != "node2" || f.Status != "OK" {
		t.Fatalf("loss of node2: %+v", f)
	}

	fakeTools(t, `echo "Could not connect to the CIB: Transport endpoint is not connected" >&2; exit 102`, "exit 0")
	code, _, errs = run("capacity")
	if code != 2 || !strings.Contains(errs, "cibadmin --query: Could not connect to the CIB: Transport endpoint is not connected (exit 102)") {
		t.Fatalf("cibadmin failing: exit %d %q", code, errs)
	}
	fakeTools(t, "exec cat "+cib, "echo '<pacemaker-result' ")
	if code, _, errs = run("capacity"); code != 2 || !strings.Contains(errs, "crm_mon output: not well-formed XML") {
		t.Fatalf("crm_mon garbage: exit %d %q", code, errs)
	}
	// No Pacemaker tools: cibadmin is looked for in PATH and then in the system folders,
	// so only a host without Pacemaker shows it.
	t.Setenv("PATH", t.TempDir())
	if _, err := hostcmd.Lookup("cibadmin"); err == nil {
		t.Log("cibadmin is installed here: the message without Pacemaker's tools is not checked")
	} else if code, _, errs = run("capacity"); code != 2 || !strings.Contains(errs, "give --cib FILE") || !strings.Contains(errs, "not installed") {
		t.Fatalf("no Pacemaker tools: exit %d %q", code, errs)
	}
}
