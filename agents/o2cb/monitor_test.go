package o2cb

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/ocf"
)

const degraded = int(ocf.Degraded)

func startedHost(t *testing.T) *fakeHost {
	t.Helper()
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.expect(h.run("start"), 0)
	return h
}

func TestMonitorNotRunning(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	// nothing loaded, configfs not mounted: nothing can be registered
	h.expect(h.run("monitor"), 7)
	// configfs mounted, node manager loaded, no cluster
	h.loadModules("configfs", "ocfs2_stack_o2cb")
	h.mountLine("configfs", h.path("config"), "configfs")
	h.expect(h.run("monitor"), 7)
	// another cluster is no cluster of ours
	must(h.cfs.Mkdir("cluster/other"))
	h.expect(h.run("monitor"), 7)
	// a probe with a broken cluster.conf on a node without the cluster
	h.write("etc/ocfs2/cluster.conf", "garbage\n")
	h.expect(h.run("monitor", "probe"), 7)
}

func TestMonitorFailed(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.loadModules("configfs", "ocfs2_stack_o2cb", "ocfs2_dlmfs")
	h.mountLine("configfs", h.path("config"), "configfs")
	must(h.cfs.Mkdir("cluster/lab"))
	h.expect(h.run("monitor"), 1, "O2CB cluster lab is registered but has no local node")
	h.expect(h.run("monitor", "probe"), 1, "has no local node")

	// registered by someone else with this host as node2
	must(registerNode(h.cfs, "lab", mustLayout(t, h).Nodes[1]))
	must(setLocal(h.cfs, "lab", "node2"))
	h.expect(h.run("monitor"), 1, "the kernel's local O2CB node is node2, but this node is node1")
	h.expect(h.run("start"), 1, "the kernel's local node is node2, but this node is node1")

	h.cfs.errs["read:cluster/lab/node/node2/num"] = errno("read", "num", 5)
	h.expect(h.run("monitor"), 1, "cannot read cluster/lab/node/node2/num")
	delete(h.cfs.errs, "read:cluster/lab/node/node2/num")
	h.cfs.file("cluster/lab/node/node2/ipv4_address", "garbage")
	h.expect(h.run("monitor"), 1, `holds "garbage", not an IPv4 address`)
	h.cfs.errs["dirs:cluster"] = errno("open", "cluster", 5)
	h.expect(h.run("monitor"), 1, "cannot list the O2CB clusters")
	must(os.Remove(h.path("proc/mounts")))
	h.expect(h.run("monitor"), 1, "cannot read the mount table")
}

func mustLayout(t *testing.T, h *fakeHost) *layout {
	t.Helper()
	l, err := layoutFromClusterConf(context.Background(), settings{cluster: "lab", clusterConf: h.path("etc/ocfs2/cluster.conf")})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestMonitorDegraded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(h *fakeHost)
		params []string
		want   string
	}{
		{"timeouts changed", nil, []string{pIdleTimeout + "=40000", pDeadThreshold + "=61"},
			"idle_timeout_ms is 30000, configured 40000; dead_threshold is 31, configured 61"},
		{"fence method", nil, []string{pFenceMethod + "=panic"}, "fence_method is reset, configured panic"},
		{"heartbeat mode", func(h *fakeHost) { h.cfs.file("cluster/lab/heartbeat/mode", "global") }, nil, "mode is global, configured local"},
		{"dlmfs gone", func(h *fakeHost) { must(h.unmount(h.path("dlm"))) }, nil, "ocfs2_dlmfs is not mounted at "},
		{"stack", func(h *fakeHost) { h.write("sys/fs/ocfs2/cluster_stack", "pcmk\n") }, nil, "the OCFS2 cluster stack is not o2cb"},
		{"node differs", func(h *fakeHost) {
			h.write("etc/ocfs2/cluster.conf", strings.Replace(twoNodes, "192.168.77.2", "192.168.77.9", 1))
		}, nil, "node node2 is registered with address 192.168.77.2, configured 192.168.77.9 (changes need a restart)"},
		{"node removed from config", func(h *fakeHost) {
			h.write("etc/ocfs2/cluster.conf", twoNodes[:strings.LastIndex(twoNodes, "node:")])
		}, nil, "node node2 is registered but no longer in"},
		{"node added, no sync", func(h *fakeHost) { h.write("etc/ocfs2/cluster.conf", threeNodes) },
			[]string{pSyncNodes + "=false"}, "not registered in O2CB: node3"},
		{"node added, probe", func(h *fakeHost) { h.write("etc/ocfs2/cluster.conf", threeNodes) },
			[]string{"probe"}, "not registered in O2CB: node3"},
		{"config unreadable", func(h *fakeHost) { h.write("etc/ocfs2/cluster.conf", "\tx = y\n") }, nil,
			"cannot check against the configuration: "},
		{"corosync node unknown", func(h *fakeHost) { h.write("etc/corosync/corosync.conf", corosyncThree) }, nil,
			"corosync nodes not registered in O2CB: node3 (add them to"},
		{"corosync unreadable", func(h *fakeHost) { h.write("etc/corosync/corosync.conf", "totem {\n") }, nil,
			"section totem is not closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startedHost(t)
			if tc.change != nil {
				tc.change(h)
			}
			h.expect(h.run("monitor", tc.params...), degraded, tc.want)
		})
	}
}

const threeNodes = twoNodes + "node:\n\tcluster = lab\n\tnumber = 3\n\tip_port = 7777\n\tip_address = 192.168.77.3\n\tname = node3\n\n"

const corosyncThree = `totem {
    cluster_name: lab
}
nodelist {
    node {
        ring0_addr: 192.168.77.1
        name: node1
        nodeid: 1
    }
    node {
        ring0_addr: 192.168.77.2
        name: node2
        nodeid: 2
    }
    node {
        ring0_addr: node3.lab
        name: node3
        nodeid: 3
    }
}
`

// TestMonitorSyncsNewNode: a recurring monitor registers a node added to the
// configuration while the cluster runs, and is then healthy.
func TestMonitorSyncsNewNode(t *testing.T) {
	h := startedHost(t)
	h.write("etc/ocfs2/cluster.conf", threeNodes)
	h.expect(h.run("monitor"), 0, "registered node node3 (3, 192.168.77.3:7777), new in")
	if got := h.cfs.state("lab"); !slices.Contains(got, "node3 3 192.168.77.3 7777 0") {
		t.Fatalf("nodes %v", got)
	}
	h.expect(h.run("monitor"), 0)

	// a node that cannot be registered is reported
	h.write("etc/ocfs2/cluster.conf", threeNodes+"node:\n\tcluster = lab\n\tnumber = 4\n\tip_address = 192.168.77.4\n\tname = node4\n\n")
	h.cfs.errs["mkdir:cluster/lab/node/node4"] = errno("mkdir", "node4", 12)
	h.expect(h.run("monitor"), degraded, "cannot register node node4")
}
