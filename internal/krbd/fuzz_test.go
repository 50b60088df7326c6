package krbd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/krbd"
)

// The parsers of sysfs and procfs text and of key files must never panic,
// whatever the files hold; what they accept must be consistent.

func FuzzParseFeatures(f *testing.F) {
	for _, s := range []string{"0x1bf\n", "0x000000000000003d", "0x", "0xffffffffffffffff", "1", "0x-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := krbd.ParseFeatures(s)
		if err != nil {
			return
		}
		_ = v.String()
		again, err := krbd.ParseFeatures("0x" + strings.TrimLeft(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0"))
		if strings.TrimLeft(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0") != "" && (err != nil || again != v) {
			t.Fatalf("%q: %#x then %#x %v", s, v, again, err)
		}
	})
}

func FuzzParseDevNum(f *testing.F) {
	for _, s := range []string{"252:0\n", "43:32", ":", "1:", "4294967295:1", "-1:2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := krbd.ParseDevNum(s)
		if err == nil {
			if back, err := krbd.ParseDevNum(n.String()); err != nil || back != n {
				t.Fatalf("%q: %v round trip %v %v", s, n, back, err)
			}
		}
	})
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add("36 35 98:0 /mnt1 /mnt/parent\\040dir rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n")
	f.Add("1 0 252:16 / / rw - ext4 /dev/rbd1 rw\n\n garbage\n2 1 x:y / /a rw - tmpfs t rw\n")
	f.Add("1 0 1:1 / /a\\ rw\n1 0 1:1 / /b\\77 rw\n1 0 1:1 / /c\\400 rw\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, m := range krbd.ParseMountinfo(s) {
			if m.MountPoint == "" && !strings.Contains(s, " ") {
				t.Fatalf("empty mount point from %q", s)
			}
		}
	})
}

func FuzzParseRBDNBDArgs(f *testing.F) {
	f.Add([]byte("/usr/bin/rbd-nbd\x00map\x00rbd/vm1\x00--id\x00kvmha\x00"))
	f.Add([]byte("rbd-nbd\x00--conf\x00/etc/ceph/ceph.conf\x00map\x00--device\x00/dev/nbd0\x00p/ns/i@s\x00"))
	f.Add([]byte("rbd-nbd map img"))
	f.Add([]byte("rbd-nbd\x00map\x00a/b/c/d\x00"))
	f.Add([]byte("rbd-nbd\x00-\x00map\x00x@\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, ok := krbd.ParseRBDNBDArgs(krbd.ParseCmdline(data))
		if ok {
			if err := spec.Check(); err != nil {
				t.Fatalf("accepted an invalid spec %#v: %v", spec, err)
			}
			// The agent writes the spec this way; it must read back.
			back, ok := krbd.ParseRBDNBDArgs([]string{"rbd-nbd", "map", spec.String()})
			if !ok || back != spec {
				t.Fatalf("%#v does not round-trip: %#v", spec, back)
			}
		}
	})
}

func FuzzParseTgid(f *testing.F) {
	f.Add("Name:\trbd-nbd\nState:\tS (sleeping)\nTgid:\t300\nPid:\t301\n")
	f.Add("Tgid: 0\n")
	f.Add("Tgid:\n")
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := krbd.ParseTgid(s); err == nil && n <= 0 {
			t.Fatalf("%q: tgid %d", s, n)
		}
	})
}

func FuzzParseSecret(f *testing.F) {
	f.Add([]byte("[client.kvmha]\n\tkey = "+key+"\n"), "kvmha")
	f.Add([]byte(key), "admin")
	f.Add([]byte("[client.x\nkey=1"), "x")
	f.Add([]byte("; c\n[ client.x ]\nkey="+key), "client.x")
	f.Fuzz(func(t *testing.T, data []byte, user string) {
		s, format, err := krbd.ParseSecret(data, user)
		if err != nil {
			if strings.Contains(err.Error(), string(data)) && len(data) > 8 {
				t.Fatalf("error quotes the file: %v", err)
			}
			return
		}
		if s.IsZero() || (format != krbd.BareKey && format != krbd.Keyring) {
			t.Fatalf("accepted without a key: %v", format)
		}
	})
}

func FuzzCheckOptions(f *testing.F) {
	for _, s := range []string{"queue_depth=128,alloc_size=65536", "secret=x", " ro , ,notrim", "a b", "=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		opts, err := krbd.CheckOptions(s)
		if err != nil {
			return
		}
		for _, o := range opts {
			if o == "" || strings.ContainsAny(o, ", \t\n") || strings.HasPrefix(o, "secret") && strings.Contains(o, "=") && strings.Split(o, "=")[0] == "secret" {
				t.Fatalf("%q accepted option %q", s, o)
			}
		}
	})
}

// FuzzReadDevice writes fuzzed attribute contents into a fake device and
// reads it back through the tree.
func FuzzReadDevice(f *testing.F) {
	f.Add("rbd", "", "vm1", "-", "0x000000000000003d", "33554432", "252", "16")
	f.Add("p", "ns", "i", "snap", "0x1", "0", "0", "0")
	f.Add("", "", "", "", "", "", "", "")
	f.Add("p\n\n", "n", "i\x00", "-\n", "0x", "-5", "x", "1:2")
	f.Fuzz(func(t *testing.T, pool, ns, name, snap, features, size, major, minor string) {
		root := t.TempDir()
		dir := filepath.Join(root, "sys/bus/rbd/devices/3")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for attr, v := range map[string]string{"pool": pool, "pool_ns": ns, "name": name, "current_snap": snap,
			"features": features, "size": size, "major": major, "minor": minor,
			"cluster_fsid": "f", "client_addr": "a", "client_id": "c"} {
			if err := os.WriteFile(filepath.Join(dir, attr), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		tr := krbd.Tree{Sys: filepath.Join(root, "sys")}
		d, err := tr.ReadDevice(3)
		if err != nil {
			return
		}
		if d.Spec.Pool == "" || d.Spec.Image == "" || d.Spec.Snap == "-" {
			t.Fatalf("accepted %#v", d.Spec)
		}
	})
}
