package virtualdomain

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/agents/virtualdomain/cephapi"
	"github.com/kvmha/kvmha/internal/ocf"
)

// A lock left by a dead client of this node (no watch, nothing here uses the image) is
// fenced, one instance, and the start goes on; a lock of this node's client that some
// local process uses, or one of another host, still refuses the start.
func TestStartFencesADeadLocalLocker(t *testing.T) {
	dead := holder("10.0.0.1", "client.4197", false)
	dead.Kind = "locker"
	t.Run("dead client of this node", func(t *testing.T) {
		h := newHarness(t)
		h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/vm1", testUUID)))
		h.ceph.images["rbd/vm1"] = cephapi.Status{Exists: true, Holders: []cephapi.Holder{dead}}
		h.expect("start", ocf.Success)
		if !slices.Equal(h.ceph.fenced, []string{dead.Address}) {
			t.Fatalf("fenced %v", h.ceph.fenced)
		}
	})
	t.Run("used here", func(t *testing.T) {
		h := newHarness(t)
		h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/vm1", testUUID)))
		h.ceph.images["rbd/vm1"] = cephapi.Status{Exists: true, Holders: []cephapi.Holder{dead}}
		h.users = map[string][]string{"rbd/vm1": {"rbd-nbd pid 77"}}
		h.set("OCF_RESKEY_CRM_meta_timeout", "3000")
		r := h.expect("start", ocf.ErrGeneric)
		if len(h.ceph.fenced) != 0 || !strings.Contains(r.Reason, "this node, in use here") {
			t.Fatalf("fenced %v, reason %q", h.ceph.fenced, r.Reason)
		}
	})
	t.Run("still watching", func(t *testing.T) {
		h := newHarness(t)
		h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/vm1", testUUID)))
		w := dead
		w.Kind = "watcher"
		h.ceph.images["rbd/vm1"] = cephapi.Status{Exists: true, Holders: []cephapi.Holder{dead, w}}
		h.set("OCF_RESKEY_CRM_meta_timeout", "3000")
		h.expect("start", ocf.ErrGeneric)
		if len(h.ceph.fenced) != 0 {
			t.Fatalf("fenced %v", h.ceph.fenced)
		}
	})
	t.Run("another host", func(t *testing.T) {
		h := newHarness(t)
		h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/vm1", testUUID)))
		other := holder("10.0.0.9", "client.4100", false)
		other.Kind = "locker"
		h.ceph.images["rbd/vm1"] = cephapi.Status{Exists: true, Holders: []cephapi.Holder{other}}
		h.set("OCF_RESKEY_CRM_meta_timeout", "3000")
		h.expect("start", ocf.ErrGeneric)
		if len(h.ceph.fenced) != 0 {
			t.Fatalf("fenced %v", h.ceph.fenced)
		}
	})
}

func TestImageUsers(t *testing.T) {
	root := t.TempDir()
	proc, sys := filepath.Join(root, "proc"), filepath.Join(root, "sys")
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	nul := func(args ...string) string { return strings.Join(args, "\x00") + "\x00" }
	write(filepath.Join(proc, "100", "cmdline"), nul("/usr/bin/qemu-system-x86_64", "-name", "guest=vm1",
		"-blockdev", `{"driver":"rbd","pool":"rbd","image":"vm1","server":[{"host":"10.0.0.250","port":"6789"}],"node-name":"libvirt-1-storage"}`))
	write(filepath.Join(proc, "101", "cmdline"), nul("/usr/bin/qemu-system-x86_64", "-drive", "file=rbd:rbd/ns/vm2:id=admin,if=none"))
	write(filepath.Join(proc, "102", "cmdline"), nul("rbd-nbd", "--id", "admin", "map", "rbd/vm3@snap"))
	write(filepath.Join(proc, "103", "cmdline"), nul("/bin/sleep", "rbd/vm1"))
	for k, v := range map[string]string{"pool": "rbd\n", "pool_ns": "\n", "name": "vm4\n"} {
		write(filepath.Join(sys, "bus", "rbd", "devices", "0", k), v)
	}
	u := imageUsers{proc: proc, sys: sys}
	for img, want := range map[cephapi.Image]string{
		{Pool: "rbd", Name: "vm1"}:                  "qemu pid 100",
		{Pool: "rbd", Namespace: "ns", Name: "vm2"}: "qemu pid 101",
		{Pool: "rbd", Name: "vm3"}:                  "rbd-nbd pid 102",
		{Pool: "rbd", Name: "vm4"}:                  "krbd rbd0",
		{Pool: "rbd", Name: "vm5"}:                  "",
	} {
		got, err := u.Users(img)
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("%s: %v %v, want %q", img, got, err, want)
		}
	}
}
