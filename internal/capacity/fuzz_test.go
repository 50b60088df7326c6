package capacity

import (
	"bytes"
	"os"
	"testing"
)

// FuzzParseCIB: ParseCIB and ApplyCrmMon never panic; whatever ParseCIB
// accepts, Plan and WriteTable handle, and the report keeps its promises:
// a loss is OK exactly when nothing is unplaced, and every shortfall has
// every attribute and is never negative.
func FuzzParseCIB(f *testing.F) {
	// Small seeds only: the fuzzer minimizes what it finds, which takes long
	// on inputs the size of the testdata CIBs (their parsing is tested above).
	f.Add(labLayout("cpu=2,hv_memory=2048,host_memory=2048").xml())
	f.Add(cibSpec{Nodes: []string{"a:cpu=1", "b@standby", "c@offline"},
		Resources: `<group id="g">` + prim("x", "cpu=1") + `</group><clone id="c">` + prim("y", "cpu=1") + `</clone>`,
		Placement: map[string][]string{"x": {"a"}, "y:0": {"a", "b"}}}.xml())
	f.Add([]byte(`<cib><configuration><nodes><node uname="a"><utilization id-ref="a"/></node></nodes></configuration></cib>`))
	f.Add([]byte(`<pacemaker-result><nodes><node name="a" online="true"/></nodes><resources><resource id="x"><node name="a"/></resource></resources></pacemaker-result>`))
	cluster, _ := os.ReadFile("testdata/three-nodes.xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if c, err := ParseCIB(cluster); err == nil {
			_ = ApplyCrmMon(c, data)
			check(t, Plan(c))
		}
		c, err := ParseCIB(data)
		if err != nil {
			return
		}
		check(t, Plan(c))
	})
}

func check(t *testing.T, r *Report) {
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Failures {
		if (f.Status == StatusOK) != (len(f.Unplaced) == 0) {
			t.Fatalf("status %s with unplaced %v", f.Status, f.Unplaced)
		}
		if len(f.Shortfall) != len(r.Attributes) {
			t.Fatalf("shortfall %v lacks attributes of %v", f.Shortfall, r.Attributes)
		}
		for a, v := range f.Shortfall {
			if v < 0 {
				t.Fatalf("negative shortfall %s=%d", a, v)
			}
		}
	}
}
