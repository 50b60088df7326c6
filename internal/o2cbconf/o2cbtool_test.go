package o2cbconf

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAgainstO2cbTool drives ocfs2-tools' own o2cb (when installed) on a
// scratch file: every file it writes round-trips byte for byte, and what
// SetCluster writes, o2cb reads and edits again.
func TestAgainstO2cbTool(t *testing.T) {
	o2cb, err := exec.LookPath("o2cb")
	if err != nil {
		for _, p := range []string{"/usr/sbin/o2cb", "/sbin/o2cb"} {
			if _, err := os.Stat(p); err == nil {
				o2cb = p
			}
		}
	}
	if o2cb == "" {
		t.Skip("o2cb (ocfs2-tools) is not installed")
	}
	conf := filepath.Join(t.TempDir(), "cluster.conf")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(o2cb, append([]string{"--config-file=" + conf}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("o2cb %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	roundTrip := func(step string) *File {
		t.Helper()
		data, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(data)
		if err != nil {
			t.Fatalf("after %s: %v\n%s", step, err, data)
		}
		if got := string(f.Bytes()); got != string(data) {
			t.Fatalf("after %s: round trip changed the file:\n%s\nwant:\n%s", step, got, data)
		}
		return f
	}

	steps := [][]string{
		{"add-cluster", "lab"},
		{"add-node", "lab", "node1", "--ip", "192.168.77.1", "--number", "1"},
		{"add-node", "lab", "node2", "--ip", "192.168.77.2", "--port", "7778", "--number", "2"},
		{"add-cluster", "other"},
		{"add-node", "other", "x1", "--ip", "10.0.0.1"},
		{"heartbeat-mode", "lab", "global"},
		{"add-heartbeat", "lab", "0D2AE1B3F7A64EC9B1BDA8E8F3F5C3A1"},
		{"remove-node", "lab", "node1"},
		{"heartbeat-mode", "lab", "local"},
		{"remove-heartbeat", "lab", "0D2AE1B3F7A64EC9B1BDA8E8F3F5C3A1"},
	}
	for _, s := range steps {
		run(s...)
		roundTrip(strings.Join(s, " "))
	}

	f := roundTrip("the steps")
	c, err := f.Cluster("lab")
	if err != nil {
		t.Fatal(err)
	}
	c.Nodes = append(c.Nodes, Node{Name: "node3", Number: 3, IP: netip.MustParseAddr("192.168.77.3"), Port: 7777})
	if err := f.SetCluster(c); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, f.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := run("list-nodes", "lab"); !strings.Contains(out, "node3") || !strings.Contains(out, "node2") {
		t.Fatalf("o2cb does not see what SetCluster wrote:\n%s", out)
	}
	run("add-node", "lab", "node4", "--ip", "192.168.77.4", "--number", "4")
	if c, err := roundTrip("o2cb editing our file").Cluster("lab"); err != nil || len(c.Nodes) != 3 {
		t.Fatalf("after o2cb edited our file: %+v %v", c, err)
	}
}
