package o2cb

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/kvmha/kvmha/internal/ocf"
)

func TestStartErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(h *fakeHost)
		params []string
		code   int
		want   string
	}{
		{"modprobe fails", func(h *fakeHost) { h.modprobeErr = errors.New("modprobe ocfs2_stack_o2cb: Module not found") }, nil,
			int(ocf.ErrInstalled), "cannot load the O2CB kernel modules: modprobe ocfs2_stack_o2cb: Module not found"},
		{"module without function", func(h *fakeHost) {
			h.deps.modprobe = func(_ context.Context, names ...string) error { return nil }
		}, nil, int(ocf.ErrInstalled), "module configfs loaded but its function is missing"},
		{"configfs mount fails", func(h *fakeHost) { h.mountErr["configfs"] = syscall.EPERM }, nil, 1,
			"cannot mount configfs at"},
		{"dlmfs mount fails", func(h *fakeHost) { h.mountErr["ocfs2_dlmfs"] = syscall.ENODEV }, nil, 1,
			"cannot mount ocfs2_dlmfs at"},
		{"dlmfs dir taken", func(h *fakeHost) { h.mountLine("tmpfs", h.path("dlm"), "tmpfs") }, nil, int(ocf.ErrConfigured),
			"dlmfs_dir: tmpfs is mounted there, not ocfs2_dlmfs: choose another dlmfs_dir"},
		{"no stack file", func(h *fakeHost) {
			h.deps.modprobe = func(_ context.Context, names ...string) error {
				h.loadModules(names...)
				return os.Remove(h.path("sys/fs/ocfs2/cluster_stack"))
			}
		}, nil, int(ocf.ErrInstalled), "(is ocfs2_stackglue loaded?)"},
		{"other cluster", func(h *fakeHost) { h.loadModules("ocfs2_stack_o2cb"); must(h.cfs.Mkdir("cluster/other")) }, nil, 1,
			"O2CB cluster other is registered in the kernel, which runs one cluster at a time"},
		{"no cluster subsystem", func(h *fakeHost) {
			h.deps.modprobe = func(_ context.Context, names ...string) error {
				h.loadModules(names...)
				return os.Remove(h.path("config/cluster"))
			}
		}, nil, int(ocf.ErrInstalled), "configfs has no O2CB \"cluster\" folder: the ocfs2_nodemanager module is missing"},
		{"address not local", func(h *fakeHost) { h.cfs.listenErr = syscall.EADDRNOTAVAIL }, nil, 1,
			"cannot make node1 the local node: o2net cannot listen on the node's address and port"},
		{"address taken", func(h *fakeHost) {
			h.write("etc/ocfs2/cluster.conf", strings.Replace(twoNodes, "number = 2", "number = 1", 1))
		}, nil, int(ocf.ErrConfigured), "cluster_conf: cluster lab: nodes node1 and node2 share number 1"},
		{"kernel refuses node", func(h *fakeHost) {
			h.cfs.errs["write:cluster/lab/node/node2/num"] = errno("write", "num", syscall.EEXIST)
		}, nil, 1, "cannot register node node2: another registered node already has number 2"},
		{"state dir", func(h *fakeHost) { h.write("run/kvmha", "a file") }, nil, 1, "cannot record the dlmfs mount"},
		{"bad corosync for manage", nil, []string{pNodesFrom + "=corosync", pManageConf + "=true"}, int(ocf.ErrInstalled),
			"corosync_conf: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHost(t)
			h.write("etc/ocfs2/cluster.conf", twoNodes)
			if tc.setup != nil {
				tc.setup(h)
			}
			h.expect(h.run("start", tc.params...), tc.code, tc.want)
			// whatever start left, stop cleans up (unless there is nothing it may touch)
			if r := h.run("stop", tc.params...); r.Code != 0 {
				t.Fatalf("stop after the failed start: %d %s", r.Code, r.Stderr)
			}
		})
	}
}

// TestStartCompletesHalfStart: a node left with its attributes half set (a
// start killed mid-way) is cleaned up by the failed start's stop, then
// registered by the next start.
func TestStartAfterPartialNode(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.cfs.errs["write:cluster/lab/node/node2/num"] = errno("write", "num", syscall.EIO)
	h.expect(h.run("start"), 1, "cannot register node node2")
	if d, _ := h.cfs.Dirs("cluster/lab/node"); !slices.Equal(d, []string{"node1"}) {
		t.Fatalf("half-registered node2 not removed: %v", d)
	}
	delete(h.cfs.errs, "write:cluster/lab/node/node2/num")
	h.expect(h.run("monitor"), 1, "has no local node")
	h.expect(h.run("start"), 0)
	h.expect(h.run("monitor"), 0)
}

func TestStartRefusesChangedNode(t *testing.T) {
	h := startedHost(t)
	h.write("etc/ocfs2/cluster.conf", strings.Replace(twoNodes, "ip_port = 7777\n\tip_address = 192.168.77.2", "ip_port = 7778\n\tip_address = 192.168.77.2", 1))
	h.expect(h.run("start"), 1, "node node2 is registered with port 7777, configured 7778")
}

func TestStartSwitchesStack(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.loadModules("configfs", "ocfs2_stack_o2cb", "ocfs2_dlmfs")
	h.write("sys/fs/ocfs2/cluster_stack", "pcmk\n")
	h.expect(h.run("start"), 0)
	if got := h.read("sys/fs/ocfs2/cluster_stack"); got != "o2cb\n" {
		t.Fatalf("cluster_stack %q", got)
	}
}

// TestTimeouts: values move in an order the kernel accepts, unchanged ones
// are not written, and frozen ones fail start with the reason.
func TestTimeouts(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	low := []string{pIdleTimeout + "=1500", pKeepalive + "=1000", pReconnect + "=500", pDeadThreshold + "=5", pFenceMethod + "=panic"}
	h.expect(h.run("start", low...), 0)
	ops := strings.Join(h.cfs.ops, "\n")
	if k, i := strings.Index(ops, "keepalive_delay_ms=1000"), strings.Index(ops, "idle_timeout_ms=1500"); k < 0 || i < 0 || k > i {
		t.Fatalf("lowering idle below the old keepalive needs keepalive first:\n%s", ops)
	}
	h.expect(h.run("monitor", low...), 0)
	h.expect(h.run("stop"), 0)

	// raising keepalive above the old idle needs idle first
	h = newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	high := []string{pIdleTimeout + "=90000", pKeepalive + "=40000"}
	h.expect(h.run("start", high...), 0)
	ops = strings.Join(h.cfs.ops, "\n")
	if k, i := strings.Index(ops, "keepalive_delay_ms=40000"), strings.Index(ops, "idle_timeout_ms=90000"); k < 0 || i < 0 || i > k {
		t.Fatalf("raising keepalive above the old idle needs idle first:\n%s", ops)
	}

	// peers connected: o2net refuses, start says why
	h.cfs.connected = true
	h.expect(h.run("start", pIdleTimeout+"=60000", pKeepalive+"=40000"), 1,
		"cannot change idle_timeout_ms from 90000 to 60000 while O2CB peers are connected")
	// heartbeat active: the kernel keeps the dead threshold without a word
	h.cfs.connected, h.cfs.regionsActive = false, true
	h.expect(h.run("start", append(high, pDeadThreshold+"=61")...), 1,
		"heartbeat dead_threshold stays 31, not 61, while heartbeat regions are active")
}

// TestReadOnlyDirsErrors covers kernel state that does not parse.
func TestAttrReadErrors(t *testing.T) {
	h := startedHost(t)
	h.cfs.file("cluster/lab/keepalive_delay_ms", "many")
	h.expect(h.run("start"), 1, `cluster/lab/keepalive_delay_ms holds "many", not a number`)
	h.cfs.errs["read:cluster/lab/keepalive_delay_ms"] = errno("read", "k", syscall.EIO)
	h.expect(h.run("start"), 1, "cannot read cluster/lab/keepalive_delay_ms")
	h.expect(h.run("monitor"), degraded, "cannot read cluster/lab/keepalive_delay_ms")
	delete(h.cfs.errs, "read:cluster/lab/keepalive_delay_ms")
	h.cfs.file("cluster/lab/keepalive_delay_ms", "2000")
	h.cfs.errs["read:cluster/lab/reconnect_delay_ms"] = errno("read", "r", syscall.EIO)
	h.expect(h.run("start"), 1, "cannot read cluster/lab/reconnect_delay_ms")
}
