package o2cbconf

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: Parse never panics; whatever it accepts, Bytes writes in a form
// Parse reads back to the same stanzas (so a rewrite is stable); Cluster and
// SetCluster never panic, and what SetCluster writes reads back equal.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.conf")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("cluster:\n\tname = lab\n\theartbeat_mode = global\n\nheartbeat:\n\tcluster = lab\n\tregion = 0D2AE1B3F7A64EC9B1BDA8E8F3F5C3A1\n"))
	f.Add([]byte("cluster:\r\n  name=lab\r\n# c\nnode:\n\tcluster = lab\n\tname = a\n\tnumber = 0\n\tip_address = 1.2.3.4\n\tip_port = 1\n"))
	f.Add([]byte("\tx = y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parsed, err := Parse(data)
		if err != nil {
			return
		}
		out := parsed.Bytes()
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse rejects what Bytes wrote: %v\n%q", err, out)
		}
		if string(again.Bytes()) != string(out) {
			t.Fatalf("rewrite is not stable:\n%q\n%q", out, again.Bytes())
		}
		for _, name := range parsed.ClusterNames() {
			c, err := parsed.Cluster(name)
			if err != nil {
				continue
			}
			if err := parsed.SetCluster(c); err != nil {
				t.Fatalf("SetCluster of a checked cluster: %v", err)
			}
			back, err := Parse(parsed.Bytes())
			if err != nil {
				t.Fatalf("Parse after SetCluster: %v", err)
			}
			c2, err := back.Cluster(name)
			if err != nil || !c2.Equal(c) {
				t.Fatalf("cluster %s changed in the rewrite: %+v -> %+v (%v)", name, c, c2, err)
			}
		}
	})
}
