package virtualdomain

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/agents/virtualdomain/cephapi"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/heartbeattest"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
	"github.com/kvmha/kvmha/internal/ocf/ocftest"
)

// The guard's hosts (heartbeattest's) beat every 20 ms, time out after
// 100 ms and announce a 100 ms watchdog: with the harness's 20 ms margin,
// 220 ms of silence prove a host dead.
const (
	hbBeat  = heartbeattest.HostBeat
	hbProof = heartbeattest.HostTimeout + heartbeattest.HostWatchdog + 20*time.Millisecond
	hbFile  = "file:///shared/kvmha-hb"
	hbRados = "rados://rbd/kvmha-hb"
)

// hbHost starts node's heartbeat, listing guests, on the backends named.
func (h *harness) hbHost(node string, uris []string, guests ...heartbeat.Guest) *heartbeattest.Host {
	var stores []*heartbeattest.MemoryStore
	for _, u := range uris {
		st := h.hb[u]
		if st == nil {
			st = heartbeattest.NewMemoryStore(u)
			h.hb[u] = st
		}
		stores = append(stores, st)
	}
	return heartbeattest.NewHost(h.t, node, stores, guests...).Run()
}

// guardHarness is a harness whose vm1 has a writable file disk on shared
// storage (reached through a link), an ISO and a shareable disk, and whose
// guard reads the given backends, on node1.
func guardHarness(t *testing.T, backends ...string) (*harness, string) {
	h := newHarness(t)
	shared := filepath.Join(h.dir, "shared")
	os.MkdirAll(shared, 0o755)
	img := filepath.Join(shared, "vm1.img")
	os.WriteFile(img, nil, 0o644)
	os.Symlink(shared, filepath.Join(h.dir, "vms"))
	h.writeConfig(domainXML("vm1", testUUID, fileDiskXML("vda", filepath.Join(h.dir, "vms/vm1.img"), "")+
		fileDiskXML("sda", "/iso/debian.iso", "<readonly/>")+fileDiskXML("vdb", filepath.Join(shared, "cluster.img"), "<shareable/>")))
	// The ISO and the shareable disk need not exist: only writable disks are resolved.
	h.set("OCF_RESKEY_CRM_meta_on_node", "node1")
	if len(backends) > 0 {
		h.set("OCF_RESKEY_heartbeat", strings.Join(backends, ","))
		for _, u := range backends {
			if h.hb[u] == nil {
				h.hb[u] = heartbeattest.NewMemoryStore(u)
			}
		}
	}
	return h, img
}

func fileDiskXML(target, path, extra string) string {
	return fmt.Sprintf(`<disk type='file' device='disk'><source file='%s'/><target dev='%s'/>%s</disk>`, path, target, extra)
}

func fileGuest(name, uuid, target, path string) heartbeat.Guest {
	return heartbeat.Guest{Name: name, UUID: uuid, Disks: []heartbeat.Disk{{Target: target, Kind: heartbeat.DiskFile, Source: path}}}
}

func (h *harness) expectNoStart(r ocftest.Result) {
	h.t.Helper()
	if n := h.hv.called("CreateTransient"); n != 0 {
		h.t.Fatalf("the domain was started (%d creates): %s", n, r.Reason)
	}
}

// Without the parameter nothing is read: a host listing the domain is not
// looked at.
func TestGuardWithoutParameterChangesNothing(t *testing.T) {
	h, img := guardHarness(t)
	h.hbHost("node2", []string{hbFile}, fileGuest("vm1", testUUID, "vda", img))
	h.expect("start", ocf.Success)
	if h.hv.called("CreateTransient") != 1 {
		t.Fatalf("calls %v", h.hv.callList())
	}
}

func TestGuardRefusesWhatALiveHostRuns(t *testing.T) {
	for name, guest := range map[string]heartbeat.Guest{
		"the domain":                     fileGuest("vm1", testUUID, "vda", "/elsewhere/vm1.img"),
		"a second domain on its disk":    fileGuest("vm1-copy", fakeUUID("vm1-copy"), "vdc", ""),
		"its disk under another link":    fileGuest("vm9", fakeUUID("vm9"), "vdc", "link"),
		"a guest whose disks are hidden": {Name: "vm9", UUID: fakeUUID("vm9"), DisksIncomplete: true},
	} {
		want := map[string]string{
			"vm1":      "node2 runs domain vm1 (its heartbeat is alive); refusing to start domain vm1",
			"vm1-copy": "node2 runs guest vm1-copy, writing to vda (file ",
			"vm9":      "node2 runs guest vm9, ",
		}
		t.Run(name, func(t *testing.T) {
			h, img := guardHarness(t, hbFile)
			switch guest.Name {
			case "vm1-copy":
				guest.Disks[0].Source = img
			case "vm9":
				if len(guest.Disks) > 0 {
					guest.Disks[0].Source, guest.Disks[0].Real = filepath.Join(h.dir, "other-link/vm1.img"), img
				}
			}
			h.hbHost("node2", []string{hbFile}, guest)
			r := h.expect("start", ocf.ErrGeneric)
			if !strings.HasPrefix(r.Reason, want[guest.Name]) {
				t.Fatalf("reason %q, want %q", r.Reason, want[guest.Name])
			}
			h.expectNoStart(r)
			within(t, r, 2*time.Second)
		})
	}
}

// Read-only and shareable disks, this node's record and a host without the
// domain are no obstacle.
func TestGuardLetsSharedDisksAndThisNodeBe(t *testing.T) {
	h, _ := guardHarness(t, hbFile)
	h.hbHost("node1", []string{hbFile}, fileGuest("vm1", testUUID, "vda", "/whatever"))
	h.hbHost("node2", []string{hbFile}, heartbeat.Guest{Name: "vm7", UUID: fakeUUID("vm7"), Disks: []heartbeat.Disk{
		{Target: "hdc", Kind: heartbeat.DiskFile, Source: "/iso/debian.iso", ReadOnly: true},
		{Target: "vdb", Kind: heartbeat.DiskFile, Source: filepath.Join(h.dir, "shared/cluster.img"), Shareable: true},
	}})
	r := h.expect("start", ocf.Success)
	within(t, r, time.Second)
	if !strings.Contains(r.Stderr, "no other host runs domain vm1 or writes to its disks (3 disks checked") {
		t.Fatalf("stderr %s", r.Stderr)
	}
}

// A host that went silent while it ran the domain: the start waits until its
// silence proves it dead, then goes on.
func TestGuardWaitsForASilentHost(t *testing.T) {
	h, img := guardHarness(t, hbFile)
	h.hbHost("node2", []string{hbFile}, fileGuest("vm1", testUUID, "vda", img)).Stop()
	r := h.expect("start", ocf.Success)
	if r.Took < hbProof-50*time.Millisecond || r.Took > 3*time.Second {
		t.Fatalf("started after %s; the proof takes %s", r.Took, hbProof)
	}
	if !strings.Contains(r.Stderr, "not yet proven dead") || !strings.Contains(r.Stderr, "is proven dead") {
		t.Fatalf("stderr %s", r.Stderr)
	}
}

// The wait ends with the start's deadline, keeping time for the start.
func TestGuardWaitEndsWithinTheStartsDeadline(t *testing.T) {
	h, img := guardHarness(t, hbFile)
	x := h.hbHost("node2", []string{hbFile}, fileGuest("vm1", testUUID, "vda", img))
	x.Set(func(r *heartbeat.Record) { r.WatchdogMs = 0 }) // its silence never proves anything
	x.Write()
	x.Stop()
	h.set("OCF_RESKEY_CRM_meta_timeout", "2000")
	r := h.expect("start", ocf.ErrGeneric)
	within(t, r, 2*time.Second)
	if r.Took > 1500*time.Millisecond || !strings.HasPrefix(r.Reason, "node2 runs domain vm1, and is silent, but runs no watchdog") {
		t.Fatalf("took %s, reason %q\n%s", r.Took, r.Reason, r.Stderr)
	}
	h.expectNoStart(r)
}

// A host whose new incarnation no longer lists the domain: no need to wait
// for its old silence to prove anything.
func TestGuardNewIncarnationWithoutTheDomain(t *testing.T) {
	h, img := guardHarness(t, hbFile)
	x := h.hbHost("node2", []string{hbFile}, fileGuest("vm1", testUUID, "vda", img))
	x.Stop()
	go func() {
		time.Sleep(60 * time.Millisecond)
		x.Set(func(r *heartbeat.Record) { r.Incarnation, r.Seq, r.Guests = 2, 0, nil })
		x.Run()
	}()
	r := h.expect("start", ocf.Success)
	if r.Took > hbProof {
		t.Fatalf("waited %s", r.Took)
	}
}

// What cannot be read refuses the start, saying what.
func TestGuardUnreadableBackends(t *testing.T) {
	h, _ := guardHarness(t, hbFile, "file:///other/hb")
	h.hbHost("node2", []string{hbFile, "file:///other/hb"})
	h.hbFail["file:///other/hb"] = errors.New("stale NFS file handle")
	h.set("OCF_RESKEY_CRM_meta_timeout", "2000")
	r := h.expect("start", ocf.ErrGeneric)
	if !strings.HasPrefix(r.Reason, "the hosts on 1 of the 2 heartbeat backends cannot be listed (file:///other/hb: stale NFS file handle)") {
		t.Fatalf("reason %q", r.Reason)
	}
	h.expectNoStart(r)
	within(t, r, 2*time.Second)
}

// rados:// backends are read through the domain's Ceph session, beside the
// RBD holder check.
func TestGuardReadsRADOSBackends(t *testing.T) {
	h := newHarness(t)
	h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/vm1-disk", testUUID)))
	h.ceph.images["rbd/vm1-disk"] = cephapi.Status{Exists: true}
	h.set("OCF_RESKEY_CRM_meta_on_node", "node1", "OCF_RESKEY_heartbeat", hbRados+" "+hbFile)
	x := h.hbHost("node2", []string{hbRados, hbFile}, heartbeat.Guest{Name: "vm5", UUID: fakeUUID("vm5"),
		Disks: []heartbeat.Disk{{Target: "vdb", Kind: heartbeat.DiskRBD, Source: "rbd/vm1-disk"}}})
	r := h.expect("start", ocf.ErrGeneric)
	if !strings.HasPrefix(r.Reason, "node2 runs guest vm5") || !strings.Contains(r.Reason, "rbd rbd/vm1-disk") {
		t.Fatalf("reason %q", r.Reason)
	}
	h.expectNoStart(r)
	// Once the guest is gone there, the start goes on (and the holder check runs).
	x.Set(func(r *heartbeat.Record) { r.Guests = nil })
	h.expect("start", ocf.Success)
	if h.ceph.inspects == 0 {
		t.Fatal("the RBD holder check did not run")
	}
	// Ceph unreachable: the rados:// backend cannot be read, and the start is refused.
	h2 := newHarness(t)
	h2.writeConfig(domainXML("vm1", testUUID, ""))
	h2.ceph.openErr = errors.New("no monitor answers")
	h2.set("OCF_RESKEY_CRM_meta_on_node", "node1", "OCF_RESKEY_heartbeat", hbRados, "OCF_RESKEY_CRM_meta_timeout", "2000")
	r = h2.expect("start", ocf.ErrGeneric)
	if !strings.Contains(r.Reason, "cannot reach Ceph: no monitor answers") {
		t.Fatalf("reason %q", r.Reason)
	}
	// A build without Ceph says so.
	d := h2.deps()
	d.openCeph = cephNotBuiltIn
	if r := ocftest.Run(newAgent(d), "start", h2.env); r.Code != ocf.ErrInstalled || !strings.Contains(r.Reason, "no Ceph support") {
		t.Fatalf("exit %d %q", r.Code, r.Reason)
	}
}

// migrate_from looks at every host but the migration's source.
func TestGuardMigrateFromIgnoresTheSource(t *testing.T) {
	h, img := guardHarness(t, hbFile)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.set("OCF_RESKEY_CRM_meta_migrate_source", "node2")
	h.hbHost("node2", []string{hbFile}, fileGuest("vm1", testUUID, "vda", img))
	h.expect("migrate_from", ocf.Success)
	h.hbHost("node3", []string{hbFile}, fileGuest("vm1", testUUID, "vda", img))
	r := h.expect("migrate_from", ocf.ErrGeneric)
	if r.Reason != "node3 runs domain vm1 (its heartbeat is alive); failing the migration of domain vm1 to this node" {
		t.Fatalf("reason %q", r.Reason)
	}
}

func TestGuardParameter(t *testing.T) {
	h, _ := guardHarness(t)
	h.set("OCF_RESKEY_heartbeat", "nfs://server/hb")
	for _, action := range []string{"validate-all", "start", "migrate_from"} {
		if r := h.expect(action, ocf.ErrConfigured); !strings.Contains(r.Reason, "heartbeat") || !strings.Contains(r.Reason, "unknown scheme nfs") {
			t.Fatalf("%s: reason %q", action, r.Reason)
		}
	}
	// A monitor is not failed over it.
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.expect("monitor", ocf.Success)
	// The parameter is declared last, after the Ceph ones.
	agent := newAgent(h.deps())
	if p := agent.Params[len(agent.Params)-1]; p.Name != pHeartbeat || len(agent.Params) != len(params)+1 {
		t.Fatalf("last parameter %s of %d", p.Name, len(agent.Params))
	}
}

// The depth-20 monitor warns when this node's record does not list the
// domain or its disks, and never fails for it.
func TestGuardDepth20LooksAtThisNodesRecord(t *testing.T) {
	h, img := guardHarness(t, hbFile)
	h.set("OCF_CHECK_LEVEL", "20")
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	// The domain has run here for a minute (a younger one is not looked for).
	h.expect("monitor", ocf.Success)
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(filepath.Join(h.rscTmp(), "kvmha-VirtualDomain-vm1.record"), old, old); err != nil {
		t.Fatal(err)
	}
	self := h.hbHost("node1", []string{hbFile})
	r := h.expect("monitor", ocf.Success)
	if !strings.Contains(r.Stderr, "does not list domain vm1") {
		t.Fatalf("no warning:\n%s", r.Stderr)
	}
	self.Set(func(r *heartbeat.Record) {
		r.Guests = []heartbeat.Guest{fileGuest("vm1", testUUID, "vdz", "/elsewhere.img")}
	})
	time.Sleep(3 * hbBeat)
	if r := h.expect("monitor", ocf.Success); !strings.Contains(r.Stderr, "does not list disk vda") {
		t.Fatalf("no warning about the disk:\n%s", r.Stderr)
	}
	self.Set(func(r *heartbeat.Record) { r.Guests = []heartbeat.Guest{fileGuest("vm1", testUUID, "vda", img)} })
	time.Sleep(3 * hbBeat)
	if r := h.expect("monitor", ocf.Success); strings.Contains(r.Stderr, "heartbeat:") {
		t.Fatalf("warned:\n%s", r.Stderr)
	}
	self.Set(func(r *heartbeat.Record) { r.GuestDisks = false })
	time.Sleep(3 * hbBeat)
	if r := h.expect("monitor", ocf.Success); !strings.Contains(r.Stderr, "older kvmha") {
		t.Fatalf("no warning about the old daemon:\n%s", r.Stderr)
	}
	self.Stop()
	delete(h.hb, hbFile)
	h.hb[hbFile] = heartbeattest.NewMemoryStore(hbFile)
	if r := h.expect("monitor", ocf.Success); !strings.Contains(r.Stderr, "this node's record cannot be read") {
		t.Fatalf("no warning without a record:\n%s", r.Stderr)
	}
}

// The local heartbeat daemon saw the host silent for a minute: proven dead
// at the first read, no wait.
func TestGuardSeededByTheLocalDaemon(t *testing.T) {
	h, img := guardHarness(t, hbFile)
	x := h.hbHost("node2", []string{hbFile}, fileGuest("vm1", testUUID, "vda", img))
	x.Stop()
	seq := x.Record().Seq
	now := heartbeat.BootTime()
	h.hbState = &heartbeat.State{Node: "node1", WrittenAt: now, Interval: heartbeat.Duration(time.Second),
		Peers: []heartbeat.PeerState{{Node: "node2", Sightings: []heartbeat.Sighting{{URI: hbFile, Incarnation: 1, Seq: seq, ChangedAt: now - time.Minute}}}}}
	r := h.expect("start", ocf.Success)
	if r.Took > hbProof/2 || !strings.Contains(r.Stderr, "is proven dead") {
		t.Fatalf("took %s\n%s", r.Took, r.Stderr)
	}
}

// A block device is the same on another host under another name: its stable
// ids say so.
func TestGuardKnowsABlockDeviceByItsIDs(t *testing.T) {
	h, _ := guardHarness(t, hbFile)
	dev, sys := filepath.Join(h.dir, "dev"), filepath.Join(h.dir, "sys")
	for _, d := range []string{filepath.Join(dev, "disk/by-id"), filepath.Join(sys, "devices/host0/block/sdb/device"), filepath.Join(sys, "class/block")} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(filepath.Join(dev, "sdb"), nil, 0o644)
	os.Symlink("../../sdb", filepath.Join(dev, "disk/by-id/wwn-0x600a0b80"))
	os.WriteFile(filepath.Join(sys, "devices/host0/block/sdb/device/wwid"), []byte("naa.600a0b80\n"), 0o644)
	os.Symlink(filepath.Join(sys, "devices/host0/block/sdb"), filepath.Join(sys, "class/block/sdb"))
	os.Symlink(filepath.Join(sys, "devices/host0/block"), filepath.Join(sys, "block"))
	h.writeConfig(domainXML("vm1", testUUID, fmt.Sprintf(`<disk type='block' device='disk'><source dev='%s'/><target dev='vda'/></disk>`,
		filepath.Join(dev, "disk/by-id/wwn-0x600a0b80"))))
	h.hbHost("node2", []string{hbFile}, heartbeat.Guest{Name: "db1", UUID: fakeUUID("db1"), Disks: []heartbeat.Disk{
		{Target: "vdb", Kind: heartbeat.DiskBlock, Source: "/dev/mapper/mpatha", Real: "/dev/dm-3", IDs: []string{"wwn:600a0b80", "by-id:dm-uuid-mpath-3600a0b80"}}}})
	r := h.expect("start", ocf.ErrGeneric)
	if !strings.HasPrefix(r.Reason, "node2 runs guest db1, writing to vda (block ") {
		t.Fatalf("reason %q", r.Reason)
	}
	h.expectNoStart(r)
}
