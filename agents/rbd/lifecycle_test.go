package rbd

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/kvmha/kvmha/agents/rbd/cephapi"
	"github.com/kvmha/kvmha/internal/krbd"
)

func TestAgentDeclarationIsValid(t *testing.T) {
	if err := New(nil).Check(); err != nil {
		t.Fatal(err)
	}
}

// The parameters of ocf:ceph:rbd keep their names and defaults.
func TestAnchorParameters(t *testing.T) {
	want := map[string]string{"name": "", "pool": "rbd", "pool_namespace": "", "snap": "", "cephconf": defaultCephConf,
		"mon": "", "user": "admin", "secret": ""}
	for _, p := range params {
		if d, ok := want[p.Name]; ok {
			if p.Default != d {
				t.Errorf("%s: default %q, want %q", p.Name, p.Default, d)
			}
			delete(want, p.Name)
		}
	}
	if len(want) != 0 {
		t.Fatalf("missing %v", want)
	}
}

func TestKRBDLifecycle(t *testing.T) {
	h := newHarness(t)
	h.expect(h.run("monitor", "probe"), 7)
	h.expect(h.run("stop"), 0)

	h.expect(h.run("start"), 0, "mapping rbd/vm1 with the kernel rbd driver: 10.0.0.1:6789 name=kvmha,secret=<hidden>",
		"mapped rbd/vm1 on /dev/rbd0 (krbd")
	if len(h.modprobes) != 1 || h.modprobes[0] != "rbd" {
		t.Fatalf("modprobe %v", h.modprobes)
	}
	req := h.k.Requests[0]
	if !strings.HasPrefix(req, "10.0.0.1:6789 name=kvmha,secret="+testKey+",mount_timeout=") || !strings.HasSuffix(req, " rbd vm1 -") {
		t.Fatalf("map request %q", req)
	}
	if a := h.opened[0]; a.Keyring != h.keyring || a.KeyFile != "" || a.User != "kvmha" || a.ConfPath != h.conf {
		t.Fatalf("access %+v", a)
	}
	link := h.k.Path("dev/rbd/rbd/vm1")
	if target, err := os.Readlink(link); err != nil || target != "../../rbd0" {
		t.Fatal(target, err)
	}
	h.expect(h.run("monitor"), 0)
	h.expect(h.run("monitor", "probe"), 0)
	h.expect(h.run("monitor", "env=OCF_CHECK_LEVEL=10"), 0)
	if h.reads != 1 {
		t.Fatalf("%d reads", h.reads)
	}
	h.readErr = errors.New("input/output error")
	h.expect(h.run("monitor", "env=OCF_CHECK_LEVEL=10"), 1, "input/output error")
	h.readErr = nil

	// the link is repaired by monitor
	os.Remove(link)
	h.expect(h.run("monitor"), 0, "linked "+link)

	// start again: nothing to do
	h.expect(h.run("start"), 0, "already mapped on /dev/rbd0")
	if len(h.k.Requests) != 1 || len(h.opened) != 1 {
		t.Fatal("second start mapped again")
	}

	h.expect(h.run("stop"), 0, "unmapped rbd/vm1 from /dev/rbd0")
	if h.k.Removes[0] != "0" {
		t.Fatal(h.k.Removes)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Fatal("link left", err)
	}
	h.expect(h.run("monitor"), 7)
	h.expect(h.run("stop"), 0)
}

func TestMonitorFailures(t *testing.T) {
	h := newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.expect(h.run("start"), 0)

	// the node is not the device
	h.k.Write("dev/rbd0", "fake device node 1:1")
	h.expect(h.run("monitor"), 1, "is device 1:1")
	h.expect(h.run("start"), 1, "is mapped on /dev/rbd0, but")
	h.k.Remove("dev/rbd0")
	h.expect(h.run("monitor"), 1, "rbd0")
	h.k.Write("dev/rbd0", "fake device node 252:0")

	// the bus and the block layer disagree
	h.k.Write("sys/block/rbd0/dev", "252:16\n")
	h.expect(h.run("monitor"), 1, "the rbd bus says 252:0")
	h.k.Write("sys/block/rbd0/dev", "252:0\n")

	// mapped twice
	h.k.AddRBDDevice(krbd.Device{ID: 1, Spec: krbd.Spec{Pool: "rbd", Image: "vm1"}, Major: 252, Minor: 16, Size: 1})
	h.expect(h.run("monitor"), 1, "mapped 2 times", "/dev/rbd0, /dev/rbd1")
	h.expect(h.run("start"), 1, "mapped 2 times")
	h.expect(h.run("stop"), 0)
	h.expect(h.run("monitor"), 7)

	// unreadable sysfs: no guess
	h.k.Write("sys/bus/rbd/devices/x/pool", "rbd")
	h.expect(h.run("monitor"), 1, "reading /sys/bus/rbd")
	h.expect(h.run("monitor", "probe"), 1)
	h.expect(h.run("stop"), 1)
}

func TestOtherMappingsAreIgnored(t *testing.T) {
	h := newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.k.AddRBDDevice(krbd.Device{ID: 0, Spec: krbd.Spec{Pool: "rbd", Image: "vm2"}, Major: 252, Minor: 0, Size: 1})
	h.k.AddRBDDevice(krbd.Device{ID: 1, Spec: krbd.Spec{Pool: "rbd", Image: "vm1", Snap: "s"}, Major: 252, Minor: 16, Size: 1})
	h.k.AddRBDDevice(krbd.Device{ID: 2, Spec: krbd.Spec{Pool: "rbd", Namespace: "ns", Image: "vm1"}, Major: 252, Minor: 32, Size: 1})
	h.k.AddRBDDevice(krbd.Device{ID: 3, Spec: krbd.Spec{Pool: "other", Image: "vm1"}, Major: 252, Minor: 48, Size: 1})
	h.expect(h.run("monitor"), 7)
	h.expect(h.run("start"), 0, "on /dev/rbd4")
	h.expect(h.run("monitor", "snap=s"), 0)
	h.expect(h.run("monitor", "pool_namespace=ns"), 0)
	h.expect(h.run("stop"), 0)
	if len(h.k.Removes) != 1 || h.k.Removes[0] != "4" {
		t.Fatal(h.k.Removes)
	}
}

func TestSnapshotAndNamespace(t *testing.T) {
	h := newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.cluster.images["rbd/ns/vm1"] = cephapi.ImageInfo{Features: uint64(defaultFS), Size: 1 << 20}
	h.cluster.snaps["rbd/ns/vm1@s1"] = true
	// a live writer on the image does not matter to a snapshot map
	h.cluster.holders["rbd/ns/vm1"] = []cephapi.Holder{{Client: "client.9", Address: "10.0.0.9:0/1", Kind: "watcher"}}
	h.expect(h.run("start", "pool_namespace=ns", "snap=s1"), 0, "rbd/ns/vm1@s1")
	req := h.k.Requests[0]
	if !strings.Contains(req, ",_pool_ns=ns,") || !strings.Contains(req, ",ro,") || !strings.HasSuffix(req, " rbd vm1 s1") {
		t.Fatal(req)
	}
	if _, err := os.Readlink(h.k.Path("dev/rbd/rbd/ns/vm1@s1")); err != nil {
		t.Fatal(err)
	}
	h.expect(h.run("monitor", "pool_namespace=ns", "snap=s1"), 0)
	h.expect(h.run("monitor", "pool_namespace=ns"), 7)
	h.expect(h.run("stop", "pool_namespace=ns", "snap=s1"), 0)

	h.expect(h.run("start", "pool_namespace=ns", "snap=nope"), 6, "snapshot rbd/ns/vm1@nope does not exist")
	h.expect(h.run("start", "name=gone"), 6, "image rbd/gone does not exist")
	h.expect(h.run("start", "read_only=true", "pool_namespace=ns", "env=OCF_RESKEY_CRM_meta_timeout=9000"), 1, "in use by client.9")
	h.cluster.holders = nil
	h.expect(h.run("start", "read_only=true", "pool_namespace=ns", "map_options=queue_depth=64"), 0)
	if req := h.k.Requests[1]; !strings.Contains(req, ",queue_depth=64,ro,mount_timeout=") {
		t.Fatal(req)
	}
}

func TestDriverChoice(t *testing.T) {
	h := newHarness(t)
	h.cluster.images["rbd/j"] = cephapi.ImageInfo{Features: uint64(krbd.Layering | krbd.ExclusiveLock | krbd.Journaling)}

	// krbd refuses, naming the feature and the fix
	h.expect(h.run("start", "name=j", "driver=krbd"), 5, "journaling", "rbd feature disable rbd/j journaling")
	if len(h.k.Requests) != 0 {
		t.Fatal("mapped anyway")
	}
	// auto picks rbd-nbd
	h.expect(h.run("start", "name=j"), 0, "the kernel lacks the image feature(s) journaling: using rbd-nbd", "/dev/nbd0")
	h.expect(h.run("stop", "name=j"), 0)
	// without rbd-nbd, auto says what to do
	h.noNBD = true
	h.expect(h.run("start", "name=j"), 5, "rbd feature disable")
	h.expect(h.run("start", "name=j", "driver=nbd"), 5, "needs rbd-nbd")
	// after "rbd feature disable", auto picks krbd
	h.noNBD = false
	h.cluster.images["rbd/j"] = cephapi.ImageInfo{Features: uint64(krbd.Layering | krbd.ExclusiveLock)}
	h.expect(h.run("start", "name=j"), 0, "(krbd,")
	h.expect(h.run("stop", "name=j"), 0)

	// no rbd module: auto falls back to nbd, krbd fails as not installed
	h2 := newHarness(t)
	h2.noRBDMod = true
	h2.expect(h2.run("start", "driver=krbd"), 5, "Module rbd not found")
	h2.expect(h2.run("start"), 0, "kernel rbd unavailable", "(nbd,")
	h2.noNBD = true
	h2.expect(h2.run("stop"), 0)
	h2.expect(h2.run("start"), 5, "neither driver")

	// a kernel that does not say what it supports
	h3 := newHarness(t)
	h3.k.LoadRBD(kernelFS)
	h3.k.Remove("sys/bus/rbd/supported_features")
	h3.expect(h3.run("start", "driver=krbd"), 0, "the kernel will say at map time")
	h3.expect(h3.run("stop"), 0)
	h3.expect(h3.run("start"), 0, "using rbd-nbd")
	h3.expect(h3.run("stop"), 0)
	h3.noNBD = true
	h3.expect(h3.run("start"), 0, "trying the kernel")
}

func TestMonitorsAndMessenger(t *testing.T) {
	h := newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.cluster.monitors = []cephapi.Monitor{{Msgr2: mustAP("10.0.0.1:3300")}, {Msgr2: mustAP("10.0.0.2:3300")}}
	h.expect(h.run("start", "mon=mons.example"), 0)
	if req := h.k.Requests[0]; !strings.HasPrefix(req, "10.0.0.1:3300,10.0.0.2:3300 ") || !strings.Contains(req, ",ms_mode=prefer-crc,") {
		t.Fatal(req)
	}
	if got := h.opened[0].MonHosts; len(got) != 1 || got[0] != "mons.example" {
		t.Fatal(got)
	}
	h.expect(h.run("stop"), 0)
	h.expect(h.run("start", "map_options=ms_mode=legacy"), 6, "no monitor address")
	h.cluster.monitors = nil
	h.expect(h.run("start"), 6, "no monitor addresses")
}

func TestKernelRefusesMap(t *testing.T) {
	h := newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.k.MapErr = syscall.EACCES
	h.expect(h.run("start"), 1, "EACCES", "cephx")
	h.openErr = errors.New("ceph: connect as client.kvmha: rados: ret=-110, Connection timed out")
	h.expect(h.run("start"), 1, "connecting to Ceph as client.kvmha")
	h.openErr = nil
	h.cluster.imageErr = errors.New("rados: ret=-13, Permission denied")
	h.expect(h.run("start"), 1, "Permission denied")
}
