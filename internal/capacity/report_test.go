package capacity

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestWriteTable: the table shows the load, each loss with its verdict and
// shortfall, where each guest goes, and the warnings.
func TestWriteTable(t *testing.T) {
	s := labLayout("cpu=2,hv_memory=2048,host_memory=2048")
	s.Options = map[string]string{"placement-strategy": "default"}
	var b bytes.Buffer
	if err := mustPlan(t, s).WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"placement-strategy: default\n",
		"NODE   STATE   CPU  HOST_MEMORY  HV_MEMORY  GUESTS\n",
		"node1  online  3/4  3072/4096    3072/4096  vm1 vm2\n",
		"loss of node1: SHORT by cpu 1, host_memory 1024 MiB, hv_memory 1024 MiB\n",
		"  vm2  cpu 2, host_memory 2048 MiB, hv_memory 2048 MiB  -> nowhere: no room\n",
		"  vm1  cpu 1, host_memory 1024 MiB, hv_memory 1024 MiB  -> node2\n",
		"loss of node2: OK\n",
		"The cluster cannot lose node1 without stopping guests.\n",
		`warning: placement-strategy is "default"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestJSONShape: the JSON field names are stable, and every amount map has
// every attribute, so scripts can index without checks.
func TestJSONShape(t *testing.T) {
	data, err := json.Marshal(mustPlan(t, labLayout("cpu=2,hv_memory=2048")))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"placement_strategy", "attributes", "survivable", "nodes", "failures", "warnings"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("no %q in %s", k, data)
		}
	}
	f := raw["failures"].([]any)[0].(map[string]any)
	for _, k := range []string{"node", "status", "guests", "unplaced", "shortfall", "free_after"} {
		if _, ok := f[k]; !ok {
			t.Errorf("failure has no %q: %v", k, f)
		}
	}
	g := f["guests"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "need", "to", "result"} {
		if _, ok := g[k]; !ok {
			t.Errorf("guest has no %q: %v", k, g)
		}
	}
	if need := g["need"].(map[string]any); len(need) != 3 {
		t.Errorf("need lacks attributes: %v", need)
	}
	n := raw["nodes"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "state", "capacity", "load", "free", "guests"} {
		if _, ok := n[k]; !ok {
			t.Errorf("node has no %q: %v", k, n)
		}
	}
	// An empty cluster still has lists, not nulls.
	empty, _ := json.Marshal(Plan(mustParse(t, []byte(`<cib><configuration/></cib>`))))
	if strings.Contains(string(empty), "null") {
		t.Errorf("nulls in %s", empty)
	}
}
