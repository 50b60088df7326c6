package guestdisks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/heartbeat"
)

const domainXML = `<domain type='kvm'><name>vm1</name><devices>
<disk type='file' device='disk'><source file='/shared/./vm1.img'/><target dev='vda'/></disk>
<disk type='block' device='disk'><source dev='/dev/disk/by-id/wwn-0x600a'/><target dev='vdb'/><shareable/></disk>
<disk type='network' device='disk'><source protocol='rbd' name='rbd/ns/data'><host name='mon1'/></source><target dev='vdc'/></disk>
<disk type='network' device='disk'><source protocol='rbd' name='rbd/base@gold'/><target dev='vdd'/></disk>
<disk type='network' device='disk'><source protocol='rbd' name='rbd/base2'><snapshot name='s1'/></source><target dev='vde'/></disk>
<disk type='network' device='disk'><source protocol='iscsi' name='iqn.2013-07.com.example:server/1'/><target dev='vdf'/></disk>
<disk type='volume' device='disk'><source pool='images' volume='vm1-data.qcow2'/><target dev='vdg'/></disk>
<disk type='file' device='cdrom'><target dev='sda'/><readonly/></disk>
<disk type='file' device='cdrom'><source file='/iso/debian.iso'/><target dev='sdb'/><readonly/></disk>
<disk type='dir' device='disk'><source dir='/srv/dir'/><target dev='hda'/></disk>
<disk type='file' device='disk'><source file='relative.img'/><target dev='vdh'/></disk>
<disk type='volume' device='disk'><source pool='images'/><target dev='vdi'/></disk>
</devices></domain>`

func TestParse(t *testing.T) {
	got, err := Parse([]byte(domainXML))
	if err != nil {
		t.Fatal(err)
	}
	want := []heartbeat.Disk{
		{Target: "vda", Kind: heartbeat.DiskFile, Source: "/shared/vm1.img"},
		{Target: "vdb", Kind: heartbeat.DiskBlock, Source: "/dev/disk/by-id/wwn-0x600a", Shareable: true},
		{Target: "vdc", Kind: heartbeat.DiskRBD, Source: "rbd/ns/data"},
		{Target: "vdd", Kind: heartbeat.DiskRBD, Source: "rbd/base", ReadOnly: true},
		{Target: "vde", Kind: heartbeat.DiskRBD, Source: "rbd/base2", ReadOnly: true},
		{Target: "vdf", Kind: heartbeat.DiskNetwork, Source: "iscsi:iqn.2013-07.com.example:server/1"},
		{Target: "vdg", Kind: heartbeat.DiskVolume, Source: "images/vm1-data.qcow2"},
		{Target: "sdb", Kind: heartbeat.DiskFile, Source: "/iso/debian.iso", ReadOnly: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", got, want)
	}
	for _, bad := range []string{"<domain", "<pool/>"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if d, err := Parse([]byte("<domain><name>x</name></domain>")); err != nil || d != nil {
		t.Fatalf("no devices: %v %v", d, err)
	}
}

func TestPoolVolumes(t *testing.T) {
	vol := heartbeat.Disk{Target: "vdg", Kind: heartbeat.DiskVolume, Source: "images/vm1.qcow2"}
	for _, tc := range []struct {
		xml  string
		want heartbeat.Disk
		ok   bool
	}{
		{`<pool type='dir'><name>images</name><target><path>/var/lib/libvirt/images/</path></target></pool>`,
			heartbeat.Disk{Target: "vdg", Kind: heartbeat.DiskFile, Source: "/var/lib/libvirt/images/vm1.qcow2", Volume: "images/vm1.qcow2"}, true},
		{`<pool type='logical'><name>images</name><target><path>/dev/vg0</path></target></pool>`,
			heartbeat.Disk{Target: "vdg", Kind: heartbeat.DiskBlock, Source: "/dev/vg0/vm1.qcow2", Volume: "images/vm1.qcow2"}, true},
		{`<pool type='rbd'><name>images</name><source><name>rbd</name><host name='mon1'/></source></pool>`,
			heartbeat.Disk{Target: "vdg", Kind: heartbeat.DiskRBD, Source: "rbd/vm1.qcow2", Volume: "images/vm1.qcow2"}, true},
		{`<pool type='iscsi'><name>images</name><target><path>/dev/disk/by-path</path></target></pool>`, vol, false},
		{`<pool type='dir'><name>images</name></pool>`, vol, false},
	} {
		p, err := ParsePool([]byte(tc.xml))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := p.Volume(vol)
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v %v", tc.xml, got, ok)
		}
	}
	if _, err := ParsePool([]byte("<domain/>")); err == nil {
		t.Error("a domain parsed as a pool")
	}
}

// fakeHost lays out /dev and /sys for a resolver: sdb is a LUN
// (naa.600a0b80) with a partition, dm-3 multipath over it, dm-4 an LVM
// volume, vdc a virtio disk with only a serial.
func fakeHost(t *testing.T) (*Resolver, string) {
	t.Helper()
	root := t.TempDir()
	dev, sys := filepath.Join(root, "dev"), filepath.Join(root, "sys")
	mk := func(path, content string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, path string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"sdb", "sdb1", "dm-3", "dm-4", "vdc"} {
		mk(filepath.Join(dev, n), "")
	}
	link("../../sdb", filepath.Join(dev, "disk/by-id/wwn-0x600a0b80"))
	link("../../sdb", filepath.Join(dev, "disk/by-id/scsi-3600a0b80"))
	link("../../sdb1", filepath.Join(dev, "disk/by-id/wwn-0x600a0b80-part1"))
	link("../../dm-3", filepath.Join(dev, "disk/by-id/dm-uuid-mpath-3600a0b80"))
	link("../../dm-3", filepath.Join(dev, "disk/by-id/dm-name-mpatha"))
	link("../dm-4", filepath.Join(dev, "vg0/lv1"))
	link("../../vdc", filepath.Join(dev, "disk/by-id/virtio-SER1"))
	mk(filepath.Join(sys, "devices/pci0/host0/block/sdb/device/wwid"), "naa.600A0B80\n")
	mk(filepath.Join(sys, "devices/pci0/host0/block/sdb/sdb1/partition"), "1\n")
	mk(filepath.Join(sys, "devices/virtual/block/dm-3/dm/uuid"), "mpath-3600a0b80\n")
	mk(filepath.Join(sys, "devices/virtual/block/dm-4/dm/uuid"), "LVM-abcdef\n")
	mk(filepath.Join(sys, "devices/pci1/virtio2/block/vdc/serial"), "SER1  \n")
	for name, path := range map[string]string{
		"sdb": "devices/pci0/host0/block/sdb", "sdb1": "devices/pci0/host0/block/sdb/sdb1",
		"dm-3": "devices/virtual/block/dm-3", "dm-4": "devices/virtual/block/dm-4", "vdc": "devices/pci1/virtio2/block/vdc",
	} {
		link(filepath.Join(sys, path), filepath.Join(sys, "class/block", name))
		if !strings.Contains(name, "1") {
			link(filepath.Join(sys, path), filepath.Join(sys, "block", name))
		}
	}
	return &Resolver{Sys: sys, Dev: dev, Timeout: time.Second}, root
}

func TestResolveBlockDevices(t *testing.T) {
	r, root := fakeHost(t)
	dev := filepath.Join(root, "dev")
	for _, tc := range []struct {
		source string
		ids    []string
	}{
		{dev + "/disk/by-id/wwn-0x600a0b80", []string{"wwn:600a0b80", "by-id:scsi-3600a0b80", "by-id:wwn-0x600a0b80"}},
		{dev + "/sdb1", []string{"wwn:600a0b80#p1", "by-id:wwn-0x600a0b80-part1"}},
		{dev + "/dm-3", []string{"wwn:600a0b80", "by-id:dm-uuid-mpath-3600a0b80"}},
		{dev + "/vg0/lv1", []string{"dm:LVM-abcdef"}},
		{dev + "/vdc", []string{"serial:SER1", "by-id:virtio-SER1"}},
	} {
		d, err := r.Resolve(context.Background(), heartbeat.Disk{Kind: heartbeat.DiskBlock, Source: tc.source})
		if err != nil {
			t.Fatalf("%s: %v", tc.source, err)
		}
		if !reflect.DeepEqual(d.IDs, tc.ids) {
			t.Errorf("%s: ids %q, want %q", tc.source, d.IDs, tc.ids)
		}
	}
	// The LUN through multipath and straight: the same disk.
	a, _ := r.Resolve(context.Background(), heartbeat.Disk{Kind: heartbeat.DiskBlock, Source: dev + "/dm-3"})
	b, _ := r.Resolve(context.Background(), heartbeat.Disk{Kind: heartbeat.DiskBlock, Source: dev + "/sdb"})
	c, _ := r.Resolve(context.Background(), heartbeat.Disk{Kind: heartbeat.DiskBlock, Source: dev + "/sdb1"})
	if !heartbeat.SameDisk(a, b) || heartbeat.SameDisk(b, c) {
		t.Fatalf("%+v %+v %+v", a, b, c)
	}
}

func TestResolveFiles(t *testing.T) {
	r, root := fakeHost(t)
	shared := filepath.Join(root, "shared")
	if err := os.MkdirAll(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(shared, "vm1.img")
	os.WriteFile(img, nil, 0o644)
	os.Symlink(shared, filepath.Join(root, "vms"))
	d, err := r.Resolve(context.Background(), heartbeat.Disk{Kind: heartbeat.DiskFile, Source: filepath.Join(root, "vms/vm1.img")})
	if err != nil || d.Real != img || d.Kind != heartbeat.DiskFile {
		t.Fatalf("%+v %v", d, err)
	}
	if !heartbeat.SameDisk(d, heartbeat.Disk{Kind: heartbeat.DiskFile, Source: img}) {
		t.Fatal("a file through a link is not itself")
	}
	// A device node given as a file is a block device.
	d, err = r.Resolve(context.Background(), heartbeat.Disk{Kind: heartbeat.DiskFile, Source: filepath.Join(root, "dev/disk/by-id/wwn-0x600a0b80")})
	if err != nil || d.Kind != heartbeat.DiskBlock || d.IDs[0] != "wwn:600a0b80" {
		t.Fatalf("%+v %v", d, err)
	}
	// A missing file: an error, and the disk as it was.
	missing := heartbeat.Disk{Kind: heartbeat.DiskFile, Source: filepath.Join(root, "nope.img")}
	if d, err := r.Resolve(context.Background(), missing); err == nil || !reflect.DeepEqual(d, missing) {
		t.Fatalf("%+v %v", d, err)
	}
}

func TestResolveAllVolumes(t *testing.T) {
	r, root := fakeHost(t)
	os.MkdirAll(filepath.Join(root, "pool"), 0o755)
	os.WriteFile(filepath.Join(root, "pool/v1"), nil, 0o644)
	reads := 0
	r.Pool = func(_ context.Context, name string) (string, error) {
		reads++
		switch name {
		case "images":
			return "<pool type='dir'><target><path>" + filepath.Join(root, "pool") + "</path></target></pool>", nil
		case "san":
			return "<pool type='iscsi'/>", nil
		}
		return "", errors.New("no pool " + name)
	}
	in := []heartbeat.Disk{
		{Target: "vda", Kind: heartbeat.DiskVolume, Source: "images/v1"},
		{Target: "vdb", Kind: heartbeat.DiskVolume, Source: "images/v1"},
		{Target: "vdc", Kind: heartbeat.DiskVolume, Source: "san/unit:0:0:1"},
		{Target: "vdd", Kind: heartbeat.DiskVolume, Source: "gone/x"},
		{Target: "vde", Kind: heartbeat.DiskRBD, Source: "rbd/a"},
	}
	out, err := r.ResolveAll(context.Background(), in)
	if err == nil || !strings.Contains(err.Error(), "disk vdd (volume gone/x): storage pool gone: no pool gone") {
		t.Fatalf("error %v", err)
	}
	if reads != 3 {
		t.Fatalf("%d pool reads", reads)
	}
	if out[0].Kind != heartbeat.DiskFile || out[0].Source != filepath.Join(root, "pool/v1") || out[0].Volume != "images/v1" ||
		!reflect.DeepEqual(out[2], in[2]) || !reflect.DeepEqual(out[3], in[3]) || !reflect.DeepEqual(out[4], in[4]) {
		t.Fatalf("%+v", out)
	}
	// Without pools, volumes stay as they are.
	r.Pool = nil
	if d, err := r.Resolve(context.Background(), in[0]); err != nil || !reflect.DeepEqual(d, in[0]) {
		t.Fatalf("%+v %v", d, err)
	}
}

// A file system call that does not return is abandoned at the timeout.
func TestWithinAbandonsHungCalls(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	start := time.Now()
	_, err := within(context.Background(), 20*time.Millisecond, func() (string, error) { <-release; return "", nil })
	if err == nil || !strings.Contains(err.Error(), "no answer from the file system in time") || time.Since(start) > time.Second {
		t.Fatalf("%v after %s", err, time.Since(start))
	}
}

func TestNormalisedIDs(t *testing.T) {
	for in, want := range map[string]string{
		"naa.600A0B80": "wwn:600a0b80", "eui.0025388B": "eui:0025388b", "t10.ATA  QEMU HARDDISK   QM00001": "wwid:t10.ATA QEMU HARDDISK QM00001",
	} {
		if got := normWWID(in); got != want {
			t.Errorf("%q: %q", in, got)
		}
	}
	for in, want := range map[string][2]string{
		"mpath-3600A0B80":        {"wwn:600a0b80", ""},
		"mpath-2002538b":         {"eui:002538b", ""},
		"part2-mpath-3600a0b80":  {"wwn:600a0b80", "2"},
		"LVM-vgid-lvid":          {"dm:LVM-vgid-lvid", ""},
		"mpath-SATA_disk_serial": {"dm:mpath-SATA_disk_serial", ""},
	} {
		if id, part := normDMUUID(in); id != want[0] || part != want[1] {
			t.Errorf("%q: %q %q", in, id, part)
		}
	}
}
