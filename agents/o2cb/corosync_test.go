package o2cb

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/o2cbconf"
	"github.com/kvmha/kvmha/internal/ocf"
)

var fromCoro = []string{pNodesFrom + "=corosync"}

func TestCorosyncNodes(t *testing.T) {
	h := newFakeHost(t)
	h.hosts["node3.lab"] = "192.168.77.3"
	h.write("etc/corosync/corosync.conf", corosyncThree)
	h.expect(h.run("start", fromCoro...), 0, "3 nodes, local node node1 (1)")
	want := []string{"node1 1 192.168.77.1 7777 1", "node2 2 192.168.77.2 7777 0", "node3 3 192.168.77.3 7777 0"}
	if got := h.cfs.state("lab"); !slices.Equal(got, want) {
		t.Fatalf("nodes %v, want %v", got, want)
	}
	h.expect(h.run("monitor", fromCoro...), 0)

	// a node joins the Pacemaker cluster: the next monitor registers it
	h.hosts["node4.lab"] = "192.168.77.4"
	h.write("etc/corosync/corosync.conf", strings.Replace(corosyncThree, "nodelist {", "nodelist {\n node {\n  name: node4\n  nodeid: 4\n  ring0_addr: node4.lab\n }", 1))
	h.expect(h.run("monitor", append(fromCoro, pSyncNodes+"=false")...), degraded, "nodes of", "not registered in O2CB: node4")
	h.expect(h.run("monitor", fromCoro...), 0, "registered node node4 (4, 192.168.77.4:7777)")
	h.expect(h.run("stop", fromCoro...), 0)
}

func TestCorosyncNodeErrors(t *testing.T) {
	node := func(body string) string { return "nodelist {\n node {\n" + body + " }\n}\n" }
	for _, tc := range []struct{ conf, want string }{
		{node("  name: node1\n  nodeid: 1\n  ring0_addr: fd00::1\n"), "ring0_addr fd00::1 is IPv6"},
		{node("  name: node1\n  nodeid: 300\n  ring0_addr: 10.0.0.1\n"), "node node1: nodeid 300 is not 1..254"},
		{node("  nodeid: 1\n  ring0_addr: 10.0.0.1\n"), "line 2: node has no name"},
		{node("  name: node1\n  nodeid: 1\n  ring1_addr: 10.0.0.1\n"), "node node1 has no ring0_addr"},
		{node("  name: node1\n  nodeid: 1\n  ring0_addr: nowhere\n"), "cannot resolve ring0_addr nowhere"},
		{"totem {\n cluster_name: x\n}\n", "no nodelist, which nodes_from=corosync needs"},
		{node("  name: node1\n  nodeid: 1\n  ring0_addr: 10.0.0.1\n") + node("  name: node2\n  nodeid: 1\n  ring0_addr: 10.0.0.2\n"),
			"nodes node1 and node2 share number 1"},
		{"nodelist {\n", "section nodelist is not closed"},
	} {
		h := newFakeHost(t)
		h.write("etc/corosync/corosync.conf", tc.conf)
		h.expect(h.run("validate-all", fromCoro...), int(ocf.ErrConfigured), "corosync_conf: ", tc.want)
	}
	h := newFakeHost(t)
	h.expect(h.run("validate-all", fromCoro...), int(ocf.ErrInstalled), "corosync_conf: ", "does not exist on this node")
}

// TestManageClusterConf: start writes the cluster into cluster.conf for
// ocfs2-tools, keeps other clusters, and leaves an unchanged file alone.
func TestManageClusterConf(t *testing.T) {
	h := newFakeHost(t)
	h.hosts["node3.lab"] = "192.168.77.3"
	h.write("etc/corosync/corosync.conf", corosyncThree)
	other := "cluster:\n\tname = other\n\theartbeat_mode = local\n\tnode_count = 0\n\n"
	h.write("etc/ocfs2/cluster.conf", other)
	params := append(fromCoro, pManageConf+"=true")
	h.expect(h.run("start", params...), 0, "wrote cluster lab (3 nodes) to")
	data := h.read("etc/ocfs2/cluster.conf")
	f, err := o2cbconf.Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(data, other) {
		t.Fatalf("other cluster moved or changed:\n%s", data)
	}
	c, err := f.Cluster("lab")
	if err != nil || len(c.Nodes) != 3 || c.Nodes[2].IP.String() != "192.168.77.3" {
		t.Fatalf("%+v %v\n%s", c, err, data)
	}
	// unchanged layout: the file is not rewritten
	old := time.Now().Add(-time.Hour)
	must(os.Chtimes(h.path("etc/ocfs2/cluster.conf"), old, old))
	h.expect(h.run("start", params...), 0)
	if st, _ := os.Stat(h.path("etc/ocfs2/cluster.conf")); !st.ModTime().Equal(old) {
		t.Fatal("unchanged cluster.conf rewritten")
	}
	// a file that does not parse is not overwritten
	h.write("etc/ocfs2/cluster.conf", "\tbroken = yes\n")
	h.expect(h.run("start", params...), int(ocf.ErrConfigured), "cluster_conf: will not rewrite")
	// no file yet: created with its folder
	must(os.RemoveAll(h.path("etc/ocfs2")))
	h.expect(h.run("start", params...), 0)
	if !strings.Contains(h.read("etc/ocfs2/cluster.conf"), "name = node3") {
		t.Fatal("cluster.conf not created")
	}
}
