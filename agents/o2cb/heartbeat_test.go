package o2cb

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/ocf"
	"github.com/kvmha/kvmha/internal/ocfs2disk"
)

// mkfsVolume makes a 64 MiB OCFS2 volume in a file with the real
// mkfs.ocfs2 and returns its path and UUID; the test is skipped without
// ocfs2-tools.
func mkfsVolume(t *testing.T, h *fakeHost, name string, args ...string) (string, string) {
	t.Helper()
	mkfs, err := exec.LookPath("mkfs.ocfs2")
	if err != nil {
		if _, serr := os.Stat("/sbin/mkfs.ocfs2"); serr != nil {
			t.Skip("mkfs.ocfs2 (ocfs2-tools) is not installed")
		}
		mkfs = "/sbin/mkfs.ocfs2"
	}
	img := h.path("dev/" + name)
	must(os.WriteFile(img, nil, 0o644))
	must(os.Truncate(img, 64<<20))
	args = append([]string{"-q", "-F", "-b", "4K", "-C", "4K", "-N", "2", "--cluster-stack=o2cb"}, args...)
	if out, err := exec.Command(mkfs, append(args, img)...).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ocfs2: %v\n%s", err, out)
	}
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := ocfs2disk.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	return img, v.UUID
}

func TestGlobalHeartbeatByDevice(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	dev, uuid := mkfsVolume(t, h, "hb1", "--cluster-name=lab", "--global-heartbeat")
	params := []string{pHBMode + "=global", pHBDevices + "=" + dev}
	h.expect(h.run("start", params...), 0, "starting global heartbeat region "+uuid, "global heartbeat")

	dir := "cluster/lab/heartbeat/" + uuid
	get := func(a string) string { v, _ := h.cfs.Read(dir + "/" + a); return v }
	// 4 KiB blocks, 512-byte sectors: the block number times 8; 255 slots at most
	if get("block_bytes") != "512" || get("blocks") != "255" || get("start_block") == "0" || get("pid") == "" {
		t.Fatalf("region: block_bytes %s blocks %s start %s pid %s", get("block_bytes"), get("blocks"), get("start_block"), get("pid"))
	}
	if get("mode") != "" || !strings.Contains(h.read("run/kvmha/o2cb-lab.json"), uuid) {
		t.Fatalf("state: %s", h.read("run/kvmha/o2cb-lab.json"))
	}
	if m, _ := h.cfs.Read("cluster/lab/heartbeat/mode"); m != "global" {
		t.Fatalf("mode %s", m)
	}
	h.expect(h.run("monitor", params...), 0)
	h.expect(h.run("start", params...), 0) // running regions are left alone

	h.cfs.file(dir+"/pid", "")
	h.expect(h.run("monitor", params...), degraded, "global heartbeat region "+uuid+" ("+dev+") is not active")
	h.expect(h.run("start", params...), 0) // an idle region is replaced
	h.expect(h.run("monitor", params...), 0)

	h.expect(h.run("stop", params...), 0, "stopping heartbeat region "+uuid)
	if d, _ := h.cfs.Dirs("cluster"); len(d) != 0 {
		t.Fatalf("left %v", d)
	}
	h.expect(h.run("monitor", params...), 7)
}

// TestGlobalHeartbeatFromClusterConf: regions by UUID from cluster.conf,
// found by scanning the block devices.
func TestGlobalHeartbeatFromClusterConf(t *testing.T) {
	h := newFakeHost(t)
	_, uuid := mkfsVolume(t, h, "vdz", "--cluster-name=lab", "--global-heartbeat")
	must(os.WriteFile(h.path("block/vda"), nil, 0o644)) // no such device in dev/
	must(os.WriteFile(h.path("block/vdz"), nil, 0o644))
	conf := strings.Replace(twoNodes, "heartbeat_mode = local", "heartbeat_mode = global", 1) +
		"heartbeat:\n\tcluster = lab\n\tregion = " + uuid + "\n\n"
	h.write("etc/ocfs2/cluster.conf", conf)
	h.expect(h.run("start"), 0, "on "+h.path("dev/vdz"))
	h.expect(h.run("monitor"), 0)
	h.expect(h.run("stop"), 0)

	// udev's by-uuid link is used when present
	lower := strings.ToLower(uuid)
	link := h.path("dev/disk/by-uuid/" + lower[:8] + "-" + lower[8:12] + "-" + lower[12:16] + "-" + lower[16:20] + "-" + lower[20:])
	must(os.MkdirAll(filepath.Dir(link), 0o755))
	must(os.Symlink(h.path("dev/vdz"), link))
	h.expect(h.run("start"), 0, "on "+link)
	h.expect(h.run("stop"), 0)

	must(os.Remove(link))
	must(os.Remove(h.path("block/vdz")))
	h.expect(h.run("start"), int(ocf.ErrInstalled), "no block device on this node holds heartbeat volume "+uuid)
}

func TestGlobalHeartbeatErrors(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	other, _ := mkfsVolume(t, h, "other", "--cluster-name=elsewhere", "--global-heartbeat")
	local, _ := mkfsVolume(t, h, "local", "--cluster-name=lab")
	good, uuid := mkfsVolume(t, h, "good", "--cluster-name=lab", "--global-heartbeat")
	must(os.WriteFile(h.path("dev/zeros"), make([]byte, 64<<10), 0o644))
	global := pHBMode + "=global"
	for _, tc := range []struct {
		dev  string
		code int
		want string
	}{
		{other, int(ocf.ErrConfigured), `heartbeat_devices: heartbeat volume belongs to cluster "elsewhere"`},
		{local, int(ocf.ErrConfigured), "heartbeat_devices: heartbeat volume was not made for global heartbeat"},
		{h.path("dev/zeros"), int(ocf.ErrConfigured), "not an OCFS2 volume"},
		{h.path("dev/missing"), int(ocf.ErrInstalled), "heartbeat_devices: heartbeat device"},
	} {
		h.expect(h.run("start", global, pHBDevices+"="+tc.dev), tc.code, tc.want)
	}
	h.deps.sectorSize = func(*os.File) (int, error) { return 8192, nil }
	h.expect(h.run("start", global, pHBDevices+"="+good), int(ocf.ErrConfigured), "heartbeat_devices: heartbeat device has 8192-byte sectors")
	h.deps.sectorSize = func(*os.File) (int, error) { return 512, nil }
	h.cfs.errs["write:cluster/lab/heartbeat/"+uuid+"/dev"] = errno("write", "dev", 22)
	h.expect(h.run("start", global, pHBDevices+"="+good), 1, "cannot start heartbeat region "+uuid)
	if d, _ := h.cfs.Dirs("cluster/lab/heartbeat"); len(d) != 0 {
		t.Fatalf("failed region left behind: %v", d)
	}
	delete(h.cfs.errs, "write:cluster/lab/heartbeat/"+uuid+"/dev")
	h.expect(h.run("monitor", global, pHBDevices+"="+good), degraded, "heartbeat device "+good+" has no region")
	// the heartbeat mode cannot change under running regions
	h.expect(h.run("start", global, pHBDevices+"="+good), 0)
	h.cfs.regionsActive = true
	h.expect(h.run("start"), 1, "cannot set cluster/lab/heartbeat/mode to local (it is global)")
	h.cfs.regionsActive = false
	h.cfs.errs["rmdir:cluster/lab/heartbeat/"+uuid] = errno("rmdir", uuid, 16)
	h.expect(h.run("stop"), 1, "cannot stop heartbeat region "+uuid)
}
