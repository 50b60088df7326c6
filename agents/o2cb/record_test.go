package o2cb

import (
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/files/filestest"
	"github.com/kvmha/kvmha/internal/ocf"
	"github.com/kvmha/kvmha/internal/ocf/ocftest"
)

func (h *fakeHost) readRecord() (record, bool) {
	h.t.Helper()
	return ocftest.ReadRecord[record](h.t, h.recordPath())
}

// Start records the cluster it registered and the mounts it made; a stop whose
// parameters became unusable after start stops exactly that cluster and unmounts that
// dlmfs, then forgets the record.
func TestStopWithTypoStopsTheRecordedCluster(t *testing.T) {
	for _, typo := range []string{pCluster + "=a/b", pCluster + "=much-too-long-name", pIdleTimeout + "=soon", pNodesFrom + "=dns"} {
		t.Run(typo, func(t *testing.T) {
			h := newFakeHost(t)
			h.write("etc/ocfs2/cluster.conf", twoNodes)
			h.expect(h.run("start"), 0)
			rec, ok := h.readRecord()
			if want := (record{Cluster: "lab", MountedConfigfs: true, MountedDLMFS: h.path("dlm")}); !ok || rec != want {
				t.Fatalf("record %+v, want %+v", rec, want)
			}
			h.expect(h.run("stop", typo), 0, "O2CB cluster lab is down")
			if d, _ := h.cfs.Dirs("cluster"); len(d) != 0 {
				t.Fatalf("clusters left: %v", d)
			}
			if !slices.Equal(h.unmounts, []string{h.path("dlm")}) {
				t.Fatalf("unmounts %v", h.unmounts)
			}
			if _, ok := h.readRecord(); ok {
				t.Fatal("record left")
			}
			// no record: nothing is touched, and the stop succeeds
			h.expect(h.run("stop", typo), 0)
		})
	}
}

// The recorded stop keeps stop's one refusal: a mounted OCFS2 volume.
func TestStopRecordedRefusesUnderAMountedVolume(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.expect(h.run("start"), 0)
	h.mountLine("/dev/vdb", "/srv/ocfs2", "ocfs2")
	h.expect(h.run("stop", pCluster+"=a/b"), 1, "OCFS2 is mounted at /srv/ocfs2")
	if _, ok := h.readRecord(); !ok {
		t.Fatal("record dropped by a stop that failed")
	}
	must(h.unmount("/srv/ocfs2"))
	h.expect(h.run("stop", pCluster+"=a/b"), 0)
}

// A stop by valid parameters naming another cluster than start registered stops both.
func TestStopStopsTheRecordedClusterToo(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.expect(h.run("start"), 0)
	h.expect(h.run("stop", pCluster+"=other"), 0, "start registered O2CB cluster lab, the parameters now name other")
	if d, _ := h.cfs.Dirs("cluster"); len(d) != 0 {
		t.Fatalf("clusters left: %v", d)
	}
	if _, ok := h.readRecord(); ok {
		t.Fatal("record left")
	}
}

// A stop with an unusable cluster name never builds a path from it (it would name a file
// outside the state folder), and fails on an unreadable record rather than guess.
func TestStopRecordedCorruptRecord(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.expect(h.run("start"), 0)
	h.write("victim.json", "keep me")
	must(os.WriteFile(h.recordPath(), []byte("{not json"), 0o600))
	h.expect(h.run("stop", pCluster+"=../../victim"), 1, "cannot tell which O2CB cluster start registered")
	if h.read("victim.json") != "keep me" {
		t.Fatal("stop removed a file outside its state folder")
	}
	h.expect(h.run("stop"), 0, "O2CB cluster lab is down")
	h.expect(h.run("stop", pCluster+"=../../victim"), 0)
	if h.read("victim.json") != "keep me" {
		t.Fatal("stop removed a file outside its state folder")
	}
}

// Configuration files are read bounded: /dev/zero, a FIFO nobody writes, a folder or a
// huge file are configuration errors (6) naming the parameter, found at once.
func TestConfigFilesReadBounded(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	fifo := filestest.FIFO(t, h.path("fifo"))
	big := h.path("big.conf")
	must(os.WriteFile(big, make([]byte, maxConfigSize+1), 0o644))
	for _, param := range []string{pClusterConf, pCorosyncConf} {
		for _, path := range []string{"/dev/zero", fifo, h.path("etc"), big} {
			params := []string{param + "=" + path}
			runs := [][]string{params}
			if param == pCorosyncConf {
				// read for the node list, and (when it exists) for monitor's comparison
				runs = append(runs, append(params, pNodesFrom+"="+fromCorosync))
			}
			for _, params := range runs {
				began := time.Now()
				h.expect(h.run("validate-all", params...), int(ocf.ErrConfigured), "ocf-exit-reason:"+param+": ")
				if d := time.Since(began); d > 2*time.Second {
					t.Fatalf("%v took %s", params, d)
				}
			}
		}
	}
	// monitor compares with corosync.conf when it exists: a FIFO there must not hang it
	h.expect(h.run("start"), 0)
	h.expect(h.run("monitor", pCorosyncConf+"="+fifo), int(ocf.Degraded), "corosync_conf: ")
}

// What start would trip on, validate-all finds: a dlmfs_dir that is a file, a heartbeat
// device that is no block device (a FIFO is not waited for).
func TestValidateFindsWhatStartTripsOn(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.write("afile", "x")
	h.expect(h.run("validate-all", pDLMFSDir+"="+h.path("afile")), int(ocf.ErrConfigured), "ocf-exit-reason:dlmfs_dir: not a directory")
	h.expect(h.run("start", pDLMFSDir+"="+h.path("afile")), int(ocf.ErrConfigured), "ocf-exit-reason:dlmfs_dir: not a directory")

	fifo := filestest.FIFO(t, h.path("fifo"))
	for _, dev := range []string{fifo, "/dev/zero", h.path("afile")} {
		f, err := openBlockDevice(dev, false)
		if !errors.Is(err, errNotBlockDevice) {
			t.Fatalf("%s: %v %v", dev, f, err)
		}
	}
	h.deps.openDevice = openBlockDevice
	h.expect(h.run("start", pHBMode+"=global", pHBDevices+"="+fifo), int(ocf.ErrConfigured),
		"ocf-exit-reason:heartbeat_devices: heartbeat device is not a block device")
}

// A probe with unusable parameters on a node whose record says start registered the
// cluster reports that cluster's state, not "not running".
func TestProbeWithTypoJudgesTheRecordedCluster(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.expect(h.run("start"), 0)
	for _, typo := range []string{pCluster + "=a/b", pIdleTimeout + "=1", pIdleTimeout + "=soon"} {
		h.expect(h.run("monitor", "probe", typo), 0, "O2CB cluster lab runs, as this node's record says")
	}
	h.expect(h.run("monitor", pCluster+"=a/b"), 1, "cluster: ")
	h.expect(h.run("stop", pCluster+"=a/b"), 0, "O2CB cluster lab is down")
	h.expect(h.run("monitor", "probe", pCluster+"=a/b"), 7)
	h.expect(h.run("monitor", "probe", pIdleTimeout+"=soon"), 7)
}
