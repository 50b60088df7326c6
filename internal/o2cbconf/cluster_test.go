package o2cbconf

import (
	"net/netip"
	"os"
	"strings"
	"testing"
)

func mustParse(t *testing.T, s string) *File {
	t.Helper()
	f, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func readTestdata(t *testing.T, name string) *File {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return mustParse(t, string(data))
}

func TestClusterFromO2cbFile(t *testing.T) {
	f := readTestdata(t, "o2cb-global-two-clusters.conf")
	if got := strings.Join(f.ClusterNames(), ","); got != "alpha,beta" {
		t.Fatalf("ClusterNames = %s", got)
	}
	c, err := f.Cluster("alpha")
	if err != nil {
		t.Fatal(err)
	}
	want := &Cluster{Name: "alpha", HeartbeatMode: HeartbeatGlobal,
		Nodes: []Node{
			{Name: "n1", Number: 1, IP: netip.MustParseAddr("10.0.0.1"), Port: 7777},
			{Name: "n2", Number: 2, IP: netip.MustParseAddr("10.0.0.2"), Port: 7778},
		},
		Regions: []string{"0D2AE1B3F7A64EC9B1BDA8E8F3F5C3A1"}}
	if !c.Equal(want) {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
	b, err := f.Cluster("beta")
	if err != nil || len(b.Nodes) != 1 || b.Nodes[0].Number != 0 || b.HeartbeatMode != HeartbeatLocal {
		t.Fatalf("beta: %+v %v", b, err)
	}
}

func TestClusterLegacyLayout(t *testing.T) {
	c, err := readTestdata(t, "legacy-layout.conf").Cluster("lab")
	if err != nil {
		t.Fatal(err)
	}
	if c.HeartbeatMode != HeartbeatLocal || len(c.Nodes) != 2 || c.Nodes[1].Name != "node2" {
		t.Fatalf("%+v", c)
	}
}

func TestClusterErrors(t *testing.T) {
	const head = "cluster:\n\tname = lab\n\n"
	node := func(attrs string) string { return "node:\n\tcluster = lab\n" + attrs + "\n" }
	okNode := func(name, num, ip string) string {
		return node("\tname = " + name + "\n\tnumber = " + num + "\n\tip_address = " + ip + "\n")
	}
	for _, tc := range []struct{ in, want string }{
		{"", "cluster lab: no such cluster (the file defines no cluster)"},
		{"cluster:\n\tname = other\n", "cluster lab: no such cluster (the file defines other)"},
		{head + head, "cluster lab is defined twice"},
		{"cluster:\n\tname = lab\n\theartbeat_mode = both\n", `heartbeat_mode "both" is neither local nor global`},
		{head + node("\tname = a\n"), "node stanza at line 4 lacks number and ip_address"},
		{head + node("\tname = a\n\tnumber = x\n\tip_address = 1.2.3.4\n"), `number "x" is not a number`},
		{head + node("\tname = a\n\tnumber = 1\n\tip_address = ::1\n"), "is not an IPv4 address"},
		{head + node("\tname = a\n\tnumber = 1\n\tip_address = 1.2.3.400\n"), "is not an IPv4 address"},
		{head + node("\tname = a\n\tnumber = 1\n\tip_address = 1.2.3.4\n\tip_port = p\n"), `ip_port "p" is not a number`},
		{head + node("\tname = a\n\tnumber = 1\n\tip_address = 1.2.3.4\n\tip_port = 65535\n"), "port 65535, outside 1..65534"},
		{head + okNode("a", "255", "1.2.3.4"), "number 255, outside 0..254"},
		{head + okNode("a", "1", "1.2.3.4") + okNode("a", "2", "1.2.3.5"), "node a is listed twice"},
		{head + okNode("a", "1", "1.2.3.4") + okNode("b", "1", "1.2.3.5"), "nodes a and b share number 1"},
		{head + okNode("a", "1", "1.2.3.4") + okNode("b", "2", "1.2.3.4"), "nodes a and b share address 1.2.3.4"},
		{head + okNode("a/b", "1", "1.2.3.4"), `node name "a/b" may hold only`},
		{head + okNode("..", "1", "1.2.3.4"), `node name ".." is not allowed`},
		{head + okNode(strings.Repeat("n", 65), "1", "1.2.3.4"), "longer than 64"},
		{head + "heartbeat:\n\tcluster = lab\n", "heartbeat stanza at line 4 has no region"},
		{head + "heartbeat:\n\tcluster = lab\n\tregion = /dev/sdb\n", "is not a volume UUID"},
		{head + "heartbeat:\n\tcluster = lab\n\tregion = 0D2AE1B3F7A64EC9B1BDA8E8F3F5C3A1\n\n" +
			"heartbeat:\n\tcluster = lab\n\tregion = 0D2AE1B3F7A64EC9B1BDA8E8F3F5C3A1\n", "is listed twice"},
	} {
		_, err := mustParse(t, tc.in).Cluster("lab")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Cluster(lab) of\n%s= %v\nwant %q", tc.in, err, tc.want)
		}
	}
	if _, err := mustParse(t, "cluster:\n\tname = a-very-long-cluster-name\n").Cluster("a-very-long-cluster-name"); err == nil ||
		!strings.Contains(err.Error(), "longer than 16") {
		t.Errorf("long cluster name: %v", err)
	}
}

func TestSetClusterKeepsOthersAndO2cbLayout(t *testing.T) {
	f := readTestdata(t, "o2cb-global-two-clusters.conf")
	c, err := f.Cluster("alpha")
	if err != nil {
		t.Fatal(err)
	}
	before := string(f.Bytes())
	if err := f.SetCluster(c); err != nil {
		t.Fatal(err)
	}
	if got := string(f.Bytes()); got != before {
		t.Fatalf("setting the same cluster changed the file:\n%s\nwas:\n%s", got, before)
	}

	c.Nodes = append(c.Nodes, Node{Name: "n3", Number: 3, IP: netip.MustParseAddr("10.0.0.3"), Port: 7777})
	c.Regions = nil
	c.HeartbeatMode = HeartbeatLocal
	if err := f.SetCluster(c); err != nil {
		t.Fatal(err)
	}
	// alpha's stanzas stay where they were; beta's are untouched
	want := "cluster:\n\tname = alpha\n\theartbeat_mode = local\n\tnode_count = 3\n\n" +
		"cluster:\n\tname = beta\n\theartbeat_mode = local\n\tnode_count = 1\n\n" +
		"node:\n\tcluster = alpha\n\tnumber = 1\n\tip_port = 7777\n\tip_address = 10.0.0.1\n\tname = n1\n\n" +
		"node:\n\tcluster = alpha\n\tnumber = 2\n\tip_port = 7778\n\tip_address = 10.0.0.2\n\tname = n2\n\n" +
		"node:\n\tcluster = alpha\n\tnumber = 3\n\tip_port = 7777\n\tip_address = 10.0.0.3\n\tname = n3\n\n" +
		"node:\n\tcluster = beta\n\tnumber = 0\n\tip_port = 7777\n\tip_address = 10.1.0.1\n\tname = b1\n\n"
	if got := string(f.Bytes()); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	back, err := mustParse(t, want).Cluster("alpha")
	if err != nil || !back.Equal(c) {
		t.Fatalf("re-read: %+v %v", back, err)
	}
}

func TestSetClusterIntoEmptyFile(t *testing.T) {
	f := &File{}
	c := &Cluster{Name: "lab", HeartbeatMode: HeartbeatLocal, Nodes: []Node{
		{Name: "node2", Number: 2, IP: netip.MustParseAddr("192.168.77.2"), Port: 7777},
		{Name: "node1", Number: 1, IP: netip.MustParseAddr("192.168.77.1"), Port: 7777},
	}}
	if err := f.SetCluster(c); err != nil {
		t.Fatal(err)
	}
	want := "cluster:\n\tname = lab\n\theartbeat_mode = local\n\tnode_count = 2\n\n" +
		"node:\n\tcluster = lab\n\tnumber = 1\n\tip_port = 7777\n\tip_address = 192.168.77.1\n\tname = node1\n\n" +
		"node:\n\tcluster = lab\n\tnumber = 2\n\tip_port = 7777\n\tip_address = 192.168.77.2\n\tname = node2\n\n"
	if got := string(f.Bytes()); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if err := f.SetCluster(&Cluster{Name: "bad name", HeartbeatMode: HeartbeatLocal}); err == nil {
		t.Fatal("SetCluster accepted a bad name")
	}
	if err := f.SetCluster(&Cluster{Name: "lab", HeartbeatMode: "x"}); err == nil {
		t.Fatal("SetCluster accepted a bad mode")
	}
}

func TestEqual(t *testing.T) {
	a := &Cluster{Name: "c", HeartbeatMode: HeartbeatGlobal, Regions: []string{"A", "B"}}
	b := &Cluster{Name: "c", HeartbeatMode: HeartbeatGlobal, Regions: []string{"B", "A"}}
	if !a.Equal(b) {
		t.Error("region order matters")
	}
	b.HeartbeatMode = HeartbeatLocal
	if a.Equal(b) {
		t.Error("mode ignored")
	}
}
