package virtualdomain

import (
	"reflect"
	"strings"
	"testing"
)

const labDomainXML = `<domain type='qemu'>
  <name>lab-vm</name>
  <uuid>6f1c2a3e-0000-4000-8000-0000000000a1</uuid>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source protocol='rbd' name='rbd/lab-vm'>
        <host name='127.0.0.1' port='15301'/>
      </source>
      <auth username='kvmha'>
        <secret type='ceph' uuid='7b701929-7fc6-4144-b7ba-2b37fcb80503'/>
      </auth>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='network' device='cdrom'>
      <source protocol='rbd' name='images/ns1/iso@base'>
        <host name='mon1'/><host name='[fd00::1]' port='3300'/>
        <auth username='libvirt'><secret type='ceph' usage='client.libvirt secret'/></auth>
      </source>
      <target dev='sda'/>
      <readonly/>
    </disk>
    <disk type='network'><source protocol='iscsi' name='iqn.x/1'/><target dev='sdb'/></disk>
    <disk type='network'><source protocol='rbd' name='no-pool'/><target dev='sdc'/></disk>
    <disk type='file'><source file='/var/lib/x.img'/><target dev='vdz'/></disk>
    <disk type='volume'><source pool='cephpool' volume='vol1'/><target dev='vdb'/><shareable/></disk>
    <interface type='network'><source network='default'/></interface>
    <interface type='bridge'><source bridge='br0'/></interface>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
  </devices>
</domain>`

func TestParseDomainXML(t *testing.T) {
	cfg, err := parseDomainXML([]byte(labDomainXML))
	if err != nil {
		t.Fatal(err)
	}
	want := &domainConfig{
		Name: "lab-vm", UUID: "6f1c2a3e-0000-4000-8000-0000000000a1", Type: "qemu",
		Emulator: "/usr/bin/qemu-system-x86_64",
		RBDDisks: []rbdDisk{
			{Target: "vda", Pool: "rbd", Image: "lab-vm", Hosts: []monHost{{"127.0.0.1", "15301"}},
				AuthUser: "kvmha", Secret: secretRef{UUID: "7b701929-7fc6-4144-b7ba-2b37fcb80503"}},
			{Target: "sda", Pool: "images", Namespace: "ns1", Image: "iso", Snapshot: "base",
				Hosts: []monHost{{"mon1", ""}, {"[fd00::1]", "3300"}}, AuthUser: "libvirt",
				Secret: secretRef{Usage: "client.libvirt secret"}, ReadOnly: true},
		},
		VolumeDisks:  []volumeDisk{{Target: "vdb", Pool: "cephpool", Volume: "vol1"}},
		StoragePools: []string{"cephpool"},
		Networks:     []string{"default"},
		GuestAgent:   true,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
	if cfg.RBDDisks[1].Spec() != "images/ns1/iso" {
		t.Fatal(cfg.RBDDisks[1].Spec())
	}
}

func TestParseDomainXMLRejects(t *testing.T) {
	for _, in := range []string{"", "garbage", "<pool/>", "<domain/>", "<domain><name> </name></domain>",
		"<x:domain xmlns:x='u'><name>a</name></x:domain>", "<domain><name>a</name>"} {
		if _, err := parseDomainXML([]byte(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	cfg, err := parseDomainXML([]byte("<domain><name>minimal</name></domain>"))
	if err != nil || cfg.Name != "minimal" || len(cfg.RBDDisks) != 0 {
		t.Fatalf("%+v %v", cfg, err)
	}
}

func TestParseRBDPoolXML(t *testing.T) {
	d, err := parseRBDPoolXML([]byte(`<pool type='rbd'><name>p</name><source><name>rbd</name>
<host name='mon1' port='6789'/><auth type='ceph' username='libvirt'><secret usage='ceph-secret'/></auth></source></pool>`))
	if err != nil || d.Pool != "rbd" || d.AuthUser != "libvirt" || d.Secret.Usage != "ceph-secret" || len(d.Hosts) != 1 {
		t.Fatalf("%+v %v", d, err)
	}
	if d, err := parseRBDPoolXML([]byte(`<pool type='dir'><name>d</name></pool>`)); d != nil || err != nil {
		t.Fatalf("dir pool: %+v %v", d, err)
	}
	for _, in := range []string{"<pool type='rbd'/>", "<pool type='rbd'><source/></pool>", "<domain/>", "x"} {
		if _, err := parseRBDPoolXML([]byte(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// FuzzParseDomainXML: the disk parser never panics, and what it returns is
// usable (every RBD disk has a pool and an image without slashes).
func FuzzParseDomainXML(f *testing.F) {
	f.Add([]byte(labDomainXML))
	f.Add([]byte(domainXML("vm", testUUID, rbdDiskXML("vda", "rbd/img", testUUID))))
	f.Add([]byte("<domain><name>a</name><devices><disk type='network'><source protocol='rbd' name='a//b@'/></disk></devices></domain>"))
	f.Add([]byte("<domain><name>&amp;</name><devices><disk type='volume'><source pool='' volume='v'/></disk></devices></domain>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parseDomainXML(data)
		if err != nil {
			return
		}
		if cfg.Name == "" {
			t.Fatal("accepted a domain without a name")
		}
		for _, d := range cfg.RBDDisks {
			if d.Pool == "" || d.Image == "" || strings.Contains(d.Image, "/") || strings.Contains(d.Pool, "/") {
				t.Fatalf("bad disk %+v", d)
			}
		}
		for _, v := range cfg.VolumeDisks {
			if v.Pool == "" || v.Volume == "" {
				t.Fatalf("bad volume %+v", v)
			}
		}
	})
}
