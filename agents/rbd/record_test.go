package rbd

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/kvmha/kvmha/agents/rbd/cephapi"
	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/krbd/krbdtest"
	"github.com/kvmha/kvmha/internal/ocf/ocftest"
)

// readRecord reads the harness resource's record; ok is false when there is none.
func (h *harness) readRecord() (record, bool) {
	h.t.Helper()
	return ocftest.ReadRecord[record](h.t, h.recordPath())
}

func (h *harness) writeRecord(r record) {
	h.t.Helper()
	ocftest.WriteRecord(h.t, h.recordPath(), r)
}

func (h *harness) mappedIDs() []int {
	h.t.Helper()
	ids, err := h.k.Tree.DeviceIDs()
	if err != nil {
		h.t.Fatal(err)
	}
	return ids
}

// Start records exactly what it mapped; a stop whose parameters became unusable after
// start unmaps that device and forgets the record. These are the stops that used to exit
// 6 and get the node fenced.
func TestStopWithTypoUnmapsWhatStartMapped(t *testing.T) {
	for _, typo := range []string{"name=a/b", "user=a b", "pool_namespace=a/b", "exclusive=perhaps", "map_options=secret=x"} {
		t.Run(typo, func(t *testing.T) {
			h := newHarness(t)
			h.k.LoadRBD(kernelFS)
			h.expect(h.run("start"), 0, "mapped rbd/vm1 on /dev/rbd0")
			rec, ok := h.readRecord()
			want := record{Pool: "rbd", Image: "vm1", Driver: driverKRBD, Device: h.k.Path("dev/rbd0"), ID: 0,
				ClusterFSID: "c8ba5f36-6a89-4a79-81b1-7e03df5546ea"}
			if !ok || rec != want {
				t.Fatalf("record %+v, want %+v", rec, want)
			}
			if st, err := os.Stat(h.recordPath()); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatal(st, err)
			}

			h.expect(h.run("stop", typo), 0, "unmapped rbd/vm1 from /dev/rbd0, as this node's record says start mapped it")
			if !slices.Equal(h.k.Removes, []string{"0"}) || len(h.mappedIDs()) != 0 {
				t.Fatalf("removes %q, mapped %v", h.k.Removes, h.mappedIDs())
			}
			if _, ok := h.readRecord(); ok {
				t.Fatal("record left after stop")
			}
			if _, err := os.Lstat(h.k.Path("dev/rbd/rbd/vm1")); !os.IsNotExist(err) {
				t.Fatal("link left", err)
			}
			// No record now: the same stop succeeds and touches nothing.
			h.expect(h.run("stop", typo), 0)
			if len(h.k.Removes) != 1 {
				t.Fatal(h.k.Removes)
			}
		})
	}
}

// A device number the kernel gave to another image since start is never unmapped on the
// record's word.
func TestStopRecordedLeavesAReusedDevice(t *testing.T) {
	h := newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.expect(h.run("start"), 0, "mapped rbd/vm1 on /dev/rbd0")
	// An admin unmaps vm1 and maps another image, which gets rbd0 again.
	h.k.RemoveRBDDevice(0)
	h.k.AddRBDDevice(krbd.Device{ID: 0, Spec: krbd.Spec{Pool: "rbd", Image: "other"}, Features: defaultFS, Size: 1 << 20,
		Major: krbdtest.RBDMajor, Minor: 0, ClusterFSID: "c8ba5f36-6a89-4a79-81b1-7e03df5546ea"})
	h.expect(h.run("stop", "name=a/b"), 0, "now maps rbd/other", "leaving it mapped")
	if len(h.k.Removes) != 0 || !slices.Equal(h.mappedIDs(), []int{0}) {
		t.Fatalf("removes %q, mapped %v", h.k.Removes, h.mappedIDs())
	}
	if _, ok := h.readRecord(); ok {
		t.Fatal("record left")
	}

	// The same image name in another cluster is another image too.
	h = newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.expect(h.run("start"), 0)
	h.k.RemoveRBDDevice(0)
	h.k.AddRBDDevice(krbd.Device{ID: 0, Spec: krbd.Spec{Pool: "rbd", Image: "vm1"}, Features: defaultFS, Size: 1 << 20,
		Major: krbdtest.RBDMajor, Minor: 0, ClusterFSID: "0d4f3a1c-0000-4000-8000-000000000000"})
	h.expect(h.run("stop", "user=a b"), 0, "leaving it mapped")
	if len(h.k.Removes) != 0 {
		t.Fatal(h.k.Removes)
	}

	// Gone altogether: nothing to unmap, stop succeeds.
	h = newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.expect(h.run("start"), 0)
	h.k.RemoveRBDDevice(0)
	h.expect(h.run("stop", "name=a/b"), 0, "no longer mapped on "+h.k.Path("dev/rbd0"))
	if len(h.k.Removes) != 0 {
		t.Fatal(h.k.Removes)
	}
}

func TestStopRecordedNBD(t *testing.T) {
	h := newHarness(t)
	h.expect(h.run("start", "driver=nbd"), 0, "mapped rbd/vm1 on /dev/nbd0 (rbd-nbd pid 1001)")
	rec, _ := h.readRecord()
	if rec.Driver != driverNBD || rec.Device != h.k.Path("dev/nbd0") || rec.NBDIndex != 0 || rec.PID != 1001 {
		t.Fatalf("record %+v", rec)
	}
	h.expect(h.run("stop", "driver=nbd", "name=a/b"), 0, "unmapped rbd/vm1 from /dev/nbd0")
	if !slices.Equal(h.signals, []string{"1001 terminated"}) {
		t.Fatal(h.signals)
	}
	if _, ok := h.readRecord(); ok {
		t.Fatal("record left")
	}

	// nbd0 now served by rbd-nbd for another image: not touched.
	h.expect(h.run("start", "driver=nbd"), 0, "on /dev/nbd0 (rbd-nbd pid 1002)")
	h.k.KillProcess(1002)
	h.k.DisconnectNBD(0)
	h.k.AddProcess(krbdtest.Process{PID: 3000, Comm: "rbd-nbd", Args: []string{"/usr/bin/rbd-nbd", "map", "rbd/other"}})
	h.k.ConnectNBD(0, 3000, 1<<20)
	h.expect(h.run("stop", "user=a b"), 0, "rbd-nbd for rbd/other", "leaving it")
	if len(h.signals) != 1 {
		t.Fatal(h.signals)
	}
}

// A record written before the map finished names no device: every device that maps the
// recorded image is unmapped, as a stop by parameters would.
func TestStopRecordedWhileMapping(t *testing.T) {
	h := newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.expect(h.run("start"), 0)
	h.writeRecord(pendingRecord(krbd.Spec{Pool: "rbd", Image: "vm1"}, driverKRBD))
	h.expect(h.run("stop", "name=a/b"), 0, "unmapped rbd/vm1 from /dev/rbd0")
	if !slices.Equal(h.k.Removes, []string{"0"}) {
		t.Fatal(h.k.Removes)
	}
}

// A record that cannot be read does not say "nothing was mapped": with unusable
// parameters the stop fails rather than guess.
func TestStopRecordedCorruptRecord(t *testing.T) {
	h := newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.expect(h.run("start"), 0)
	if err := os.WriteFile(h.recordPath(), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.expect(h.run("stop", "name=a/b"), 1, "cannot tell which device start mapped: ")
	// A valid stop needs no record: it unmaps by the parameters and drops the bad one.
	h.expect(h.run("stop"), 0, "unmapped rbd/vm1 from /dev/rbd0", "corrupt")
	if _, ok := h.readRecord(); ok {
		t.Fatal("record left")
	}
}

// Parameters changed since start (valid, but naming another image): the stop unmaps what
// they name and what start mapped.
func TestStopUnmapsTheRecordedImageToo(t *testing.T) {
	h := newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.cluster.images["rbd/vm2"] = h.cluster.images["rbd/vm1"]
	h.expect(h.run("start"), 0)
	h.expect(h.run("stop", "name=vm2"), 0, "start mapped rbd/vm1, the parameters now name rbd/vm2",
		"unmapped rbd/vm1 from /dev/rbd0")
	if len(h.mappedIDs()) != 0 {
		t.Fatal(h.mappedIDs())
	}
	// The ordinary case: the record names what the parameters name, unmapped once.
	h.expect(h.run("start"), 0)
	h.expect(h.run("start"), 0, "already mapped")
	if rec, ok := h.readRecord(); !ok || rec.Device != h.k.Path("dev/rbd0") {
		t.Fatalf("record after a second start: %+v %v", rec, ok)
	}
	h.expect(h.run("stop"), 0)
	if len(h.k.Removes) != 2 {
		t.Fatal(h.k.Removes)
	}
	if _, ok := h.readRecord(); ok {
		t.Fatal("record left")
	}
}

// A cluster start cannot reach is reported by its monitors and what each did, first in
// the reason; settings the session refuses before connecting name their parameter.
func TestConnectFailures(t *testing.T) {
	h := newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.openErr = &cephapi.ConnectError{User: "kvmha", Monitors: "10.0.0.1:6789", Source: "mon_host of /etc/ceph/ceph.conf",
		Timeout: 15 * time.Second, Probes: []string{"10.0.0.1:6789: connection refused"}, Err: context.DeadlineExceeded}
	h.expect(h.run("start"), 1, "ocf-exit-reason:no Ceph monitor of 10.0.0.1:6789 (mon_host of /etc/ceph/ceph.conf) answered within 15s: 10.0.0.1:6789: connection refused")
	h.openErr = &cephapi.ConnectError{User: "kvmha", Monitors: "10.0.0.1", Source: "mon", Err: errors.New("rados: ret=-13, Permission denied")}
	h.expect(h.run("start"), 1, "ocf-exit-reason:connecting to the Ceph monitors 10.0.0.1 (mon) as client.kvmha: rados: ret=-13")
	h.openErr = &cephapi.ParamError{Param: "mon", Err: errors.New(`mon_host entry "a b" is not an address`)}
	h.expect(h.run("start"), 6, `ocf-exit-reason:mon: mon_host entry "a b" is not an address`)
	if _, ok := h.readRecord(); ok {
		t.Fatal("a start that mapped nothing left a record of a device")
	}
}

// A probe with unusable parameters on a node whose record says start mapped the image
// reports that device's state, not "not running": Pacemaker would map the image on
// another node too. Without a record the probe says not running; a recurring monitor
// with a typo fails as before.
func TestProbeWithTypoJudgesTheRecordedDevice(t *testing.T) {
	h := newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.expect(h.run("start"), 0)
	for _, typo := range []string{"name=a/b", "user=a b", "exclusive=perhaps"} {
		h.expect(h.run("monitor", "probe", typo), 0, "is mapped on /dev/rbd0, as this node's record says start mapped it")
	}
	h.expect(h.run("monitor", "name=a/b"), 1, "name: ")
	// gone behind the agent's back: not running
	h.k.RemoveRBDDevice(0)
	h.expect(h.run("monitor", "probe", "name=a/b"), 7)
	h.expect(h.run("stop", "name=a/b"), 0)
	// no record: the probe's answer for unusable parameters
	h.expect(h.run("monitor", "probe", "name=a/b"), 7)
	h.expect(h.run("monitor", "probe", "exclusive=perhaps"), 7)
}
