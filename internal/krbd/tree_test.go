package krbd_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/krbd/krbdtest"
)

const key = "AQBzKmVmAAAAABAAvN1G5yOJcN5bC8V5iX6Wkw=="

func secret(t *testing.T) krbd.Secret {
	s, _, err := krbd.ParseSecret([]byte(key), "x")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mapReq(t *testing.T, spec krbd.Spec) krbd.MapRequest {
	return krbd.MapRequest{Monitors: "10.0.0.1:6789", User: "kvmha", Secret: secret(t), Spec: spec}
}

func TestRBDBus(t *testing.T) {
	k := krbdtest.New(t)
	tr := k.Tree
	if tr.RBDLoaded() {
		t.Fatal("loaded")
	}
	if _, err := tr.SupportedFeatures(); err == nil || !strings.Contains(err.Error(), "not loaded") {
		t.Fatal(err)
	}
	if ids, err := tr.DeviceIDs(); err != nil || len(ids) != 0 {
		t.Fatal(ids, err)
	}
	k.LoadRBD(0x1bf)
	if f, err := tr.SupportedFeatures(); err != nil || f != 0x1bf {
		t.Fatal(f, err)
	}
	spec := krbd.Spec{Pool: "rbd", Image: "vm1"}
	if err := tr.Unsupported(spec, 0x3d); err != nil {
		t.Fatal(err)
	}
	var ue *krbd.UnsupportedError
	if err := tr.Unsupported(spec, 0x7d); !errors.As(err, &ue) || ue.Unsupported != krbd.Journaling {
		t.Fatal(err)
	}
	k.Remove("sys/bus/rbd/supported_features")
	if _, err := tr.SupportedFeatures(); !errors.Is(err, krbd.ErrFeaturesUnknown) {
		t.Fatal(err)
	}
	k.Write("sys/bus/rbd/supported_features", "garbage\n")
	if _, err := tr.SupportedFeatures(); err == nil {
		t.Fatal("garbage read")
	}
}

func TestMapAndRead(t *testing.T) {
	k := krbdtest.New(t)
	k.LoadRBD(0x1bf)
	tr := k.Tree
	ctx := context.Background()
	other, err := tr.Map(ctx, mapReq(t, krbd.Spec{Pool: "rbd", Image: "other"}))
	if err != nil || other.ID != 0 {
		t.Fatal(other, err)
	}
	spec := krbd.Spec{Pool: "rbd", Namespace: "ns", Image: "vm1", Snap: "s1"}
	d, err := tr.Map(ctx, mapReq(t, spec))
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != 1 || d.Spec != spec || d.Name() != "rbd1" || d.Major != krbdtest.RBDMajor || d.Minor != 16 ||
		d.Size != 32<<20 || d.Features != 0x3d || d.ClusterFSID == "" || d.ClientAddr == "" {
		t.Fatalf("%+v", d)
	}
	if !strings.Contains(k.Requests[1], "secret="+key+",_pool_ns=ns rbd vm1 s1") {
		t.Fatal(k.Requests[1])
	}
	if tr.Node(d) != k.Path("dev/rbd1") {
		t.Fatal(tr.Node(d))
	}
	ms, err := tr.Mapped(spec)
	if err != nil || len(ms) != 1 || ms[0].ID != 1 {
		t.Fatal(ms, err)
	}
	ms, err = tr.Mapped(krbd.Spec{Pool: "rbd", Image: "vm1"}) // the image, not the snapshot
	if err != nil || len(ms) != 0 {
		t.Fatal(ms, err)
	}
	bd, err := tr.ReadBlockDevice("rbd1")
	if err != nil || bd.Num != (krbd.DevNum{Major: krbdtest.RBDMajor, Minor: 16}) || bd.Size != 32<<20 {
		t.Fatal(bd, err)
	}

	// the kernel refuses
	k.MapErr = syscall.ENXIO
	_, err = tr.Map(ctx, mapReq(t, krbd.Spec{Pool: "rbd", Image: "x"}))
	var ke *krbd.KernelError
	if !errors.As(err, &ke) || !strings.Contains(err.Error(), "ENXIO") || !strings.Contains(err.Error(), "features") {
		t.Fatal(err)
	}

	// unmap: busy, forced, gone
	k.Busy = true
	if err := tr.Unmap(ctx, 1, false); !errors.As(err, &ke) || !ke.Busy() {
		t.Fatal(err)
	}
	if err := tr.Unmap(ctx, 1, true); err != nil {
		t.Fatal(err)
	}
	if k.Removes[len(k.Removes)-1] != "1 force" {
		t.Fatal(k.Removes)
	}
	if err := tr.Unmap(ctx, 1, false); err != nil {
		t.Fatal("unmapping a gone device:", err)
	}
	if _, err := tr.ReadDevice(1); !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

func TestMapDeadline(t *testing.T) {
	k := krbdtest.New(t)
	k.LoadRBD(0x1bf)
	tr := k.Tree
	block := make(chan struct{})
	defer close(block)
	tr.Control = func(string, []byte) error { <-block; return nil }
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := tr.Map(ctx, mapReq(t, krbd.Spec{Pool: "rbd", Image: "x"})); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	if err := tr.Unmap(ctx, 0, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	// accepted but no device appeared
	tr.Control = func(string, []byte) error { return nil }
	if _, err := tr.Map(context.Background(), mapReq(t, krbd.Spec{Pool: "rbd", Image: "x"})); err == nil ||
		!strings.Contains(err.Error(), "no new device") {
		t.Fatal(err)
	}
}

func TestRealControlFiles(t *testing.T) {
	k := krbdtest.New(t)
	k.LoadRBD(0x1bf)
	tr := k.Tree
	tr.Control = nil // write the plain files
	if _, err := tr.Map(context.Background(), mapReq(t, krbd.Spec{Pool: "rbd", Image: "x"})); err == nil {
		t.Fatal("no device appeared, yet Map succeeded")
	}
	data, _ := os.ReadFile(k.Path("sys/bus/rbd/add_single_major"))
	if !strings.HasPrefix(string(data), "10.0.0.1:6789 name=kvmha,secret=") {
		t.Fatal(string(data))
	}
	if err := tr.Unmap(context.Background(), 3, true); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(k.Path("sys/bus/rbd/remove_single_major"))
	if string(data) != "3 force" {
		t.Fatal(string(data))
	}
	// old interface without single major
	k.Remove("sys/bus/rbd/add_single_major")
	k.Remove("sys/bus/rbd/remove_single_major")
	if err := tr.Unmap(context.Background(), 4, false); err != nil {
		t.Fatal(err)
	}
	if data, _ = os.ReadFile(k.Path("sys/bus/rbd/remove")); string(data) != "4" {
		t.Fatal(string(data))
	}
	// no module: the bus file is missing
	k.Remove("sys/bus")
	if err := tr.Unmap(context.Background(), 4, false); err != nil {
		t.Fatal("unmap without the module: nothing is mapped, yet", err)
	}
}

func TestReadDeviceQuirks(t *testing.T) {
	k := krbdtest.New(t)
	k.LoadRBD(0x1bf)
	k.AddRBDDevice(krbd.Device{ID: 7, Spec: krbd.Spec{Pool: "p", Image: "i"}, Features: 1, Size: 4096, Major: 252, Minor: 112})
	tr := k.Tree
	// kernels before 4.19 have no pool_ns
	k.Remove("sys/bus/rbd/devices/7/pool_ns")
	d, err := tr.ReadDevice(7)
	if err != nil || d.Spec != (krbd.Spec{Pool: "p", Image: "i"}) {
		t.Fatal(d, err)
	}
	for attr, v := range map[string]string{"features": "zz", "size": "-1", "major": "x", "minor": "99999999999", "name": ""} {
		k.AddRBDDevice(krbd.Device{ID: 8, Spec: krbd.Spec{Pool: "p", Image: "i"}, Major: 252, Minor: 128})
		k.Write("sys/bus/rbd/devices/8/"+attr, v+"\n")
		if _, err := tr.ReadDevice(8); err == nil {
			t.Errorf("%s=%q read", attr, v)
		}
		if _, err := tr.Devices(); err == nil {
			t.Errorf("%s=%q: Devices read", attr, v)
		}
	}
	k.Remove("sys/bus/rbd/devices/8")
	k.Write("sys/bus/rbd/devices/junk/pool", "x")
	if _, err := tr.DeviceIDs(); err == nil {
		t.Fatal("junk id accepted")
	}
}

func TestNBD(t *testing.T) {
	k := krbdtest.New(t)
	tr := k.Tree
	k.LoadNBD(4)
	spec := krbd.Spec{Pool: "rbd", Image: "vm1"}
	k.AddProcess(krbdtest.Process{PID: 300, Comm: "rbd-nbd", Threads: []int{301},
		Args: []string{"/usr/bin/rbd-nbd", "map", "rbd/vm1", "--id", "kvmha"}})
	k.AddProcess(krbdtest.Process{PID: 400, Comm: "rbd-nbd", Args: []string{"rbd-nbd", "--id", "x", "map", "--device", "/dev/nbd1", "rbd/other"}})
	k.AddProcess(krbdtest.Process{PID: 500, Comm: "qemu-nbd", Args: []string{"qemu-nbd", "-c", "/dev/nbd2", "x.img"}})
	k.ConnectNBD(0, 301, 1<<20) // the thread
	k.ConnectNBD(1, 400, 1<<20)
	k.ConnectNBD(2, 500, 1<<20)
	k.ConnectNBD(3, 999, 1<<20) // its server is gone
	devs, err := tr.NBDDevices()
	if err != nil || len(devs) != 4 {
		t.Fatal(devs, err)
	}
	ms, err := tr.MappedNBD(spec)
	if err != nil || len(ms) != 1 || ms[0].Device.Index != 0 || ms[0].Server.PID != 300 || ms[0].Device.Name() != "nbd0" {
		t.Fatalf("%+v %v", ms, err)
	}
	ms, _ = tr.MappedNBD(krbd.Spec{Pool: "rbd", Image: "other"})
	if len(ms) != 1 || ms[0].Device.Index != 1 {
		t.Fatalf("%+v", ms)
	}
	if !tr.ProcessAlive(300) || tr.ProcessAlive(999) {
		t.Fatal("ProcessAlive")
	}
	k.Write("proc/300/status", "Name:\trbd-nbd\nState:\tZ (zombie)\nTgid:\t300\n")
	if tr.ProcessAlive(300) {
		t.Fatal("a zombie is alive")
	}
	k.Write("sys/block/nbd1/pid", "0\n")
	if _, err := tr.NBDDevices(); err == nil {
		t.Fatal("pid 0 accepted")
	}
	k.Write("sys/block/nbd1/pid", "x\n")
	if _, err := tr.NBDDevices(); err == nil {
		t.Fatal("pid x accepted")
	}
	k.DisconnectNBD(1)
	k.Write("proc/301/status", "Name:\trbd-nbd\n")
	if _, err := tr.MappedNBD(spec); err == nil {
		t.Fatal("status without Tgid accepted")
	}
}

func TestParseRBDNBDArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		spec string
	}{
		{[]string{"rbd-nbd", "map", "rbd/vm1"}, "rbd/vm1"},
		{[]string{"/usr/bin/rbd-nbd", "map", "p/ns/img@snap", "--read-only"}, "p/ns/img@snap"},
		{[]string{"rbd-nbd", "--id", "kvmha", "-c", "/etc/ceph/ceph.conf", "map", "--read-only", "--device", "/dev/nbd3", "p/i"}, "p/i"},
		{[]string{"rbd-nbd", "--id=map", "map", "img"}, "rbd/img"},
		{[]string{"rbd-nbd", "map"}, ""},
		{[]string{"rbd-nbd", "unmap", "/dev/nbd0"}, ""},
		{[]string{"rbd-nbd", "list-mapped", "x"}, ""},
		{[]string{"qemu-nbd", "map", "rbd/vm1"}, ""},
		{[]string{"rbd-nbd", "map", "a/b/c/d"}, ""},
		{[]string{"rbd-nbd", "map", "p/i@"}, ""},
		{[]string{"rbd-nbd", "map", "p//i"}, ""},
		{nil, ""},
	} {
		spec, ok := krbd.ParseRBDNBDArgs(c.args)
		if ok != (c.spec != "") || ok && spec.String() != c.spec {
			t.Errorf("%q: %v %v", c.args, spec, ok)
		}
	}
	if got := krbd.ParseCmdline([]byte("a\x00b c\x00\x00")); len(got) != 3 || got[1] != "b c" || got[2] != "" {
		t.Fatalf("%q", got)
	}
	if got := krbd.ParseCmdline([]byte("rbd-nbd map x")); len(got) != 3 {
		t.Fatalf("%q", got)
	}
	if got := krbd.ParseCmdline(nil); got != nil {
		t.Fatalf("%q", got)
	}
}

func TestUsers(t *testing.T) {
	k := krbdtest.New(t)
	k.LoadNBD(2)
	tr := k.Tree
	k.Write("sys/block/nbd0/nbd0p1/partition", "1\n")
	k.Write("sys/block/nbd0/nbd0p1/dev", "43:1\n")
	k.Write("sys/block/nbd0/nbd0p2/dev", "43:2\n") // no partition file: not a partition
	bd, err := tr.ReadBlockDevice("nbd0")
	if err != nil || len(bd.Partitions) != 1 || bd.Partitions[0].Num != (krbd.DevNum{Major: 43, Minor: 1}) {
		t.Fatalf("%+v %v", bd, err)
	}
	u, err := tr.UsersOf(bd, true)
	if err != nil || u.InUse() || u.String() != "not in use" {
		t.Fatal(u, err)
	}
	k.Mount(krbd.DevNum{Major: 43, Minor: 1}, "/mnt/my disk")
	k.Mount(krbd.DevNum{Major: 43, Minor: 32}, "/mnt/other")
	k.Hold("nbd0", "dm-0")
	k.Write("sys/block/nbd0/nbd0p1/holders/md127", "")
	k.AddProcess(krbdtest.Process{PID: 10, Comm: "qemu"})
	k.AddProcess(krbdtest.Process{PID: 11, Comm: "rbd-nbd"})
	k.AddProcess(krbdtest.Process{PID: 12, Comm: "cat"})
	k.Open(10, "/dev/nbd0p1")
	k.Open(11, "/dev/nbd0")
	k.Open(12, "socket:[123]")
	k.Open(12, "/var/log/x")
	u, err = tr.UsersOf(bd, true, 11)
	if err != nil {
		t.Fatal(err)
	}
	want := "mounted on /mnt/my disk; held by dm-0, md127; open in qemu (pid 10)"
	if u.String() != want {
		t.Fatalf("%q\nwant %q", u.String(), want)
	}
	u, _ = tr.UsersOf(bd, false)
	if len(u.Openers) != 0 || !u.InUse() {
		t.Fatal(u)
	}
	if _, err := tr.ReadBlockDevice("../x"); err == nil {
		t.Fatal("bad name accepted")
	}
	k.Write("sys/block/nbd1/dev", "43\n")
	if _, err := tr.ReadBlockDevice("nbd1"); err == nil {
		t.Fatal("bad dev accepted")
	}
	k.Remove("proc/self/mountinfo")
	if _, err := tr.UsersOf(bd, false); err == nil {
		t.Fatal("no mount table, no error")
	}
}

func TestLink(t *testing.T) {
	k := krbdtest.New(t)
	tr := k.Tree
	spec := krbd.Spec{Pool: "rbd", Namespace: "ns", Image: "vm1", Snap: "s"}
	if got := tr.LinkPath(spec); got != k.Path("dev/rbd/rbd/ns/vm1@s") {
		t.Fatal(got)
	}
	node := k.Path("dev/rbd0")
	k.Write("dev/rbd0", "x")
	changed, err := tr.EnsureLink(spec, node)
	if err != nil || !changed {
		t.Fatal(changed, err)
	}
	if target, _ := os.Readlink(tr.LinkPath(spec)); target != "../../../rbd0" {
		t.Fatal(target)
	}
	if changed, err := tr.EnsureLink(spec, node); err != nil || changed {
		t.Fatal(changed, err)
	}
	// another device's link is replaced on ensure, kept on remove
	k.Write("dev/nbd1", "x")
	if changed, _ := tr.EnsureLink(spec, k.Path("dev/nbd1")); !changed {
		t.Fatal("not replaced")
	}
	if err := tr.RemoveLink(spec, node); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(tr.LinkPath(spec)); err != nil {
		t.Fatal("a link to another live device was removed")
	}
	if err := tr.RemoveLink(spec, k.Path("dev/nbd1")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(k.Path("dev/rbd/rbd")); !os.IsNotExist(err) {
		t.Fatal("empty folders left", err)
	}
	// a dangling link goes
	if _, err := tr.EnsureLink(spec, k.Path("dev/rbd5")); err != nil {
		t.Fatal(err)
	}
	if err := tr.RemoveLink(spec); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(tr.LinkPath(spec)); !os.IsNotExist(err) {
		t.Fatal("dangling link kept")
	}
	if err := tr.RemoveLink(spec); err != nil {
		t.Fatal("removing twice:", err)
	}
	if _, err := tr.EnsureLink(krbd.Spec{Pool: "..", Image: "x"}, node); err == nil {
		t.Fatal("escaping link made")
	}
}

func TestCheckNodeAndRead(t *testing.T) {
	if err := krbd.CheckNode("/dev/null", krbd.DevNum{Major: 1, Minor: 3}); err == nil || !strings.Contains(err.Error(), "not a block device") {
		t.Fatal(err)
	}
	if err := krbd.CheckNode("/nonexistent", krbd.DevNum{}); err == nil {
		t.Fatal("missing node passed")
	}
	ctx := context.Background()
	if err := krbd.ReadFirstBlock(ctx, "/nonexistent", 4096); err == nil {
		t.Fatal("read a missing device")
	}
	if err := krbd.ReadFirstBlock(ctx, "/nonexistent", 0); err != nil {
		t.Fatal("an empty device needs no read:", err)
	}
	// a regular file on a file system with O_DIRECT support
	p := t.TempDir() + "/disk"
	if err := os.WriteFile(p, make([]byte, 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := krbd.ReadFirstBlock(ctx, p, 8192); err != nil && !errors.Is(err, syscall.EINVAL) {
		t.Fatal(err) // tmpfs refuses O_DIRECT with EINVAL
	}
}
