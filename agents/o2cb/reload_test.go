package o2cb

import (
	"os"
	"testing"
)

func TestReload(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.expect(h.run("reload"), 0, "reload: O2CB cluster lab is not running; nothing to apply")
	h.expect(h.run("monitor"), 7)
	h.expect(h.run("start"), 0)
	// nothing mounted: the new values are applied
	h.expect(h.run("reload", pIdleTimeout+"=40000"), 0)
	h.expect(h.run("monitor", pIdleTimeout+"=40000"), 0)

	// mounted, peers connected: the kernel keeps the old value; reload
	// succeeds with a warning and monitor reports the difference
	h.mountLine("/dev/vdb", "/srv/ocfs2", "ocfs2")
	h.cfs.connected = true
	h.expect(h.run("reload", pIdleTimeout+"=50000"), 0,
		"reload: cannot change idle_timeout_ms from 40000 to 50000 while O2CB peers are connected")
	h.expect(h.run("monitor", pIdleTimeout+"=50000"), degraded, "idle_timeout_ms is 40000, configured 50000")

	// a failure that is not about frozen settings of a running cluster fails
	must(h.unmount("/srv/ocfs2"))
	h.expect(h.run("reload", pIdleTimeout+"=50000"), 1, "while O2CB peers are connected")
	h.write("etc/ocfs2/cluster.conf", "garbage\n")
	h.expect(h.run("reload"), 6, "cluster_conf: line 1: ", "is neither a stanza header")
	must(h.unmount(h.path("config")))
	h.expect(h.run("reload"), 1, "configfs is not mounted")
	must(os.Remove(h.path("proc/mounts")))
	h.expect(h.run("reload"), 1, "cannot read the mount table")
}
