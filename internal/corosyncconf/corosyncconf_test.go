package corosyncconf

import (
	"strings"
	"testing"
)

// labConf is the shape of the lab's corosync.conf (test/lab/pcmk-lib.sh) and
// of what pcs writes.
const labConf = `totem {
    version: 2
    cluster_name: kvmha
    transport: knet
    token: 1000
    interface {
        linknumber: 0
    }
}
nodelist {
    node {
        ring0_addr: 10.77.0.1
        name: node1
        nodeid: 1
    }
    node {
        ring0_addr: 10.77.0.2
        ring1_addr: 192.168.1.2
        name: node2
        nodeid: 2
    }
}
quorum {
    provider: corosync_votequorum
}
`

func TestParseLab(t *testing.T) {
	c, err := Parse([]byte(labConf))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClusterName != "kvmha" || len(c.Nodes) != 2 {
		t.Fatalf("%+v", c)
	}
	n := c.Nodes[1]
	if n.ID != 2 || n.Name != "node2" || n.Addrs[0] != "10.77.0.2" || n.Addrs[1] != "192.168.1.2" || n.Line != 16 {
		t.Fatalf("%+v", n)
	}
}

func TestParseTolerates(t *testing.T) {
	in := "# comment\ntotem{\n\tcluster_name:c\n}\n\nnodelist {\n  node {\n    # a comment\n    name:   n1  \n    nodeid: 7\n    ring0_addr: host1\n  }\n}\nlogging {\n  logger_subsys {\n    subsys: QUORUM\n  }\n}\n"
	c, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClusterName != "c" || len(c.Nodes) != 1 || c.Nodes[0].Name != "n1" || c.Nodes[0].ID != 7 || c.Nodes[0].Addrs[0] != "host1" {
		t.Fatalf("%+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"totem {\n", "section totem is not closed"},
		{"}\n", "line 1: '}' closes no section"},
		{"totem {\n  what\n}\n", `line 2: "what" is neither`},
		{"{\n}\n", `line 1: "{" does not open a section`},
		{"nodelist {\n node {\n  nodeid: x\n }\n}\n", `line 3: nodeid "x" is not a positive 32-bit number`},
		{"nodelist {\n node {\n  nodeid: 0\n }\n}\n", "nodeid \"0\" is not a positive"},
		{"nodelist {\n node {\n  ring9_addr: a\n }\n}\n", "ring9_addr is not ring0_addr..ring7_addr"},
		{"nodelist {\n node {\n  name: a\n  name: b\n }\n}\n", "line 4: name is given twice in the node section at line 2"},
		{"a b c: d\n", `"a b c: d" is neither`},
		{"x: \xff\n", "line 1: invalid UTF-8"},
		{strings.Repeat("a {\n", 20), "nested deeper than 16"},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
	if _, err := Parse(make([]byte, MaxSize+1)); err == nil {
		t.Error("oversized file accepted")
	}
	if _, err := Parse([]byte(strings.Repeat("é", 80) + "\n")); err == nil || !strings.Contains(err.Error(), "...") {
		t.Errorf("long line not clipped: %v", err)
	}
}

func TestNodeOutsideNodelistIgnored(t *testing.T) {
	c, err := Parse([]byte("other {\n node {\n  name: x\n }\n}\nnodelist {\n node {\n  name: y\n  nodeid: 1\n }\n}\n"))
	if err != nil || len(c.Nodes) != 1 || c.Nodes[0].Name != "y" {
		t.Fatalf("%+v %v", c, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(labConf))
	f.Add([]byte("nodelist {\n node {\n  nodeid: 1\n }\n}\n"))
	f.Add([]byte("a {\n}\n}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		for _, n := range c.Nodes {
			if n.ID < 0 || n.Addrs == nil {
				t.Fatalf("bad node %+v", n)
			}
			for ring := range n.Addrs {
				if ring < 0 || ring > 7 {
					t.Fatalf("ring %d", ring)
				}
			}
		}
	})
}
