package o2cb

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/ocf"
)

func TestAgentDeclarationIsValid(t *testing.T) {
	if err := New().Check(); err != nil {
		t.Fatal(err)
	}
}

// TestLifecycleFromScratch: a node with nothing loaded or mounted.
func TestLifecycleFromScratch(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)

	h.expect(h.run("monitor", "probe"), 7)
	h.expect(h.run("start"), 0, "O2CB cluster lab is up: 2 nodes, local node node1 (1), local heartbeat")
	if want := [][]string{{"configfs", "ocfs2_stack_o2cb", "ocfs2_dlmfs"}}; !slices.EqualFunc(h.modprobes, want, slices.Equal) {
		t.Fatalf("modprobe calls %v, want %v", h.modprobes, want)
	}
	mounts := h.read("proc/mounts")
	if !strings.Contains(mounts, "configfs "+h.path("config")+" configfs") || !strings.Contains(mounts, "ocfs2_dlmfs "+h.path("dlm")+" ocfs2_dlmfs") {
		t.Fatalf("mounts:\n%s", mounts)
	}
	want := []string{"node1 1 192.168.77.1 7777 1", "node2 2 192.168.77.2 7777 0"}
	if got := h.cfs.state("lab"); !slices.Equal(got, want) {
		t.Fatalf("nodes %v, want %v", got, want)
	}
	// the kernel's order: port and address before num, local last
	ops := strings.Join(h.cfs.ops, "\n")
	for _, seq := range [][2]string{
		{"write cluster/lab/node/node1/ipv4_address", "write cluster/lab/node/node1/num"},
		{"write cluster/lab/node/node2/num", "write cluster/lab/node/node1/local=1"},
	} {
		if strings.Index(ops, seq[0]) > strings.Index(ops, seq[1]) {
			t.Fatalf("%q after %q:\n%s", seq[0], seq[1], ops)
		}
	}
	if st := h.read("run/kvmha/o2cb-lab.json"); !strings.Contains(st, `"mounted_dlmfs":"`+h.path("dlm")) {
		t.Fatalf("state %q", st)
	}
	h.expect(h.run("monitor"), 0)
	h.expect(h.run("monitor", "probe"), 0)

	// start again: nothing to do, nothing written
	before := len(h.cfs.ops)
	h.expect(h.run("start"), 0)
	if len(h.modprobes) != 1 || len(h.cfs.ops) != before {
		t.Fatalf("second start did work: modprobe %v, ops %v", h.modprobes, h.cfs.ops[before:])
	}

	h.expect(h.run("stop"), 0, "O2CB cluster lab is down")
	if d, _ := h.cfs.Dirs("cluster"); len(d) != 0 {
		t.Fatalf("clusters left: %v", d)
	}
	if !slices.Equal(h.unmounts, []string{h.path("dlm")}) {
		t.Fatalf("unmounts %v", h.unmounts)
	}
	if _, err := os.Stat(h.path("run/kvmha/o2cb-lab.json")); !os.IsNotExist(err) {
		t.Fatalf("state file left: %v", err)
	}
	// local node removed last (it stops o2net listening)
	if i, j := slices.Index(h.cfs.ops, "rmdir cluster/lab/node/node2"), slices.Index(h.cfs.ops, "rmdir cluster/lab/node/node1"); i < 0 || i > j {
		t.Fatalf("rmdir order: %v", h.cfs.ops)
	}
	h.expect(h.run("stop"), 0)
	h.expect(h.run("monitor"), 7)
	h.expect(h.run("monitor", "probe"), 7)
	if len(h.unmounts) != 1 {
		t.Fatalf("second stop unmounted again: %v", h.unmounts)
	}
}

// TestLeavesOthersMounts: configfs and dlmfs mounted by someone else stay.
func TestLeavesOthersMounts(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.loadModules("configfs", "ocfs2_stack_o2cb", "ocfs2_dlmfs")
	must(os.MkdirAll(h.path("dlm"), 0o755))
	h.mountLine("none", h.path("config"), "configfs")
	h.mountLine("ocfs2_dlmfs", h.path("dlm"), "ocfs2_dlmfs")
	h.expect(h.run("start"), 0)
	h.expect(h.run("stop"), 0)
	if len(h.modprobes) != 0 || len(h.unmounts) != 0 {
		t.Fatalf("modprobe %v, unmounts %v", h.modprobes, h.unmounts)
	}
}

// TestStopRefusedWhileMounted: stop fails with the mount points named, and
// succeeds once they are gone.
func TestStopRefusedWhileMounted(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.expect(h.run("start"), 0)
	h.mountLine("/dev/vdb", "/srv/with space", "ocfs2")
	h.expect(h.run("stop"), int(ocf.ErrGeneric), "OCFS2 is mounted at /srv/with space: refusing to stop O2CB")
	if d, _ := h.cfs.Dirs("cluster"); len(d) != 1 {
		t.Fatalf("cluster removed under a mount: %v", d)
	}
	h.expect(h.run("monitor"), 0)
	must(h.unmount("/srv/with space"))
	h.expect(h.run("stop"), 0)
	h.expect(h.run("monitor"), 7)
}

// TestStopCleansDlmfsInUse: dlmfs with a lock domain stays mounted.
func TestStopLeavesBusyDlmfs(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.expect(h.run("start"), 0)
	must(os.Mkdir(h.path("dlm/B6DF461C"), 0o755))
	h.expect(h.run("stop"), 0, "leaving "+h.path("dlm")+" mounted: lock domains B6DF461C are in use")
	if len(h.unmounts) != 0 {
		t.Fatalf("unmounted a busy dlmfs: %v", h.unmounts)
	}
}

// TestStopWithConfigfsUnmounted: the cluster can outlive the configfs
// mount; stop mounts configfs to find and remove it.
func TestStopWithConfigfsUnmounted(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.expect(h.run("start"), 0)
	must(h.unmount(h.path("config")))
	h.expect(h.run("monitor"), int(ocf.ErrGeneric), "configfs is not mounted")
	h.expect(h.run("stop"), 0)
	if d, _ := h.cfs.Dirs("cluster"); len(d) != 0 {
		t.Fatalf("cluster left: %v", d)
	}
	h.expect(h.run("monitor"), 7)
}

// TestStopDamagedState: the resource's record still says start mounted dlmfs; without
// it too, stop leaves the mount alone (it may be an admin's).
func TestStopDamagedState(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.expect(h.run("start"), 0)
	h.write("run/kvmha/o2cb-lab.json", "{not json")
	h.expect(h.run("stop"), 0, "is damaged")
	if !slices.Equal(h.unmounts, []string{h.path("dlm")}) {
		t.Fatalf("unmounts %v", h.unmounts)
	}

	h = newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.expect(h.run("start"), 0)
	h.write("run/kvmha/o2cb-lab.json", "{not json")
	must(os.Remove(h.recordPath()))
	h.expect(h.run("stop"), 0, "is damaged", "leaving ocfs2_dlmfs mounted")
	if len(h.unmounts) != 0 {
		t.Fatalf("unmounts %v", h.unmounts)
	}
}

func TestStopErrors(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.expect(h.run("start"), 0)
	h.cfs.errs["rmdir:cluster/lab/node/node2"] = errno("rmdir", "node2", 16) // EBUSY
	h.expect(h.run("stop"), 1, "cannot unregister node node2")
	delete(h.cfs.errs, "rmdir:cluster/lab/node/node2")
	h.cfs.errs["dirs:cluster/lab/node"] = errno("open", "node", 5) // EIO
	h.expect(h.run("stop"), 1, "cannot list the nodes of cluster lab")
	delete(h.cfs.errs, "dirs:cluster/lab/node")
	h.write("proc/mounts.d", "")
	must(os.Remove(h.path("proc/mounts")))
	h.expect(h.run("stop"), 1, "cannot read the mount table")
}

// TestInvalidParamsStopSucceeds: the runtime's rule, exercised here because
// stop must never fail on a typo (it would get the node fenced).
func TestInvalidParamsStopSucceeds(t *testing.T) {
	h := newFakeHost(t)
	h.expect(h.run("stop", pIdleTimeout+"=nope"), 0)
}
