package virtualdomain

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestQemuGuestName(t *testing.T) {
	for arg, want := range map[string]string{
		"guest=vm1,debug-threads=on":  "vm1",
		"guest=a,,b,debug-threads=on": "a,b",
		"vm1":                         "vm1",
		"guest=":                      "",
		"":                            "",
	} {
		if got := qemuGuestName(arg); got != want {
			t.Errorf("%q: %q, want %q", arg, got, want)
		}
	}
}

// fakeProc builds a /proc with the given processes (pid -> cmdline, state).
func fakeProc(t *testing.T, procs map[string][2]string) string {
	root := t.TempDir()
	for pid, p := range procs {
		dir := filepath.Join(root, pid)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "cmdline"), []byte(strings.ReplaceAll(p[0], " ", "\x00")+"\x00"), 0o644)
		os.WriteFile(filepath.Join(dir, "stat"), []byte(pid+" (qemu (x) y) "+p[1]+" 1 2 3"), 0o644)
	}
	os.MkdirAll(filepath.Join(root, "self"), 0o755)
	return root
}

func TestProcQemuFind(t *testing.T) {
	root := fakeProc(t, map[string][2]string{
		"100": {"/usr/bin/qemu-system-x86_64 -name guest=vm1,debug-threads=on -uuid 6F1C2A3E-0000-4000-8000-0000000000A1 -m 128", "S"},
		"101": {"/usr/bin/qemu-system-x86_64 -name guest=vm2,debug-threads=on -uuid 11111111-0000-4000-8000-000000000000", "R"},
		"102": {"/usr/bin/qemu-system-x86_64 -name guest=vm1 -uuid 6f1c2a3e-0000-4000-8000-0000000000a1", "Z"},
		"103": {"/usr/bin/python3 -name guest=vm1 -uuid 6f1c2a3e-0000-4000-8000-0000000000a1", "S"},
		"104": {"qemu-kvm -name vm3", "S"},
	})
	p := procQemu{root: root}
	for _, tc := range []struct {
		name, uuid string
		want       []int
	}{
		{"vm1", testUUID, []int{100}},
		{"other-name", testUUID, []int{100}}, // the UUID decides
		{"vm2", "", []int{101}},
		{"vm3", "", []int{104}},
		{"vm1", "22222222-0000-4000-8000-000000000000", nil},
	} {
		got, err := p.Find(tc.name, tc.uuid)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s/%s: %v %v, want %v", tc.name, tc.uuid, got, err, tc.want)
		}
	}
	if _, err := (procQemu{root: filepath.Join(root, "none")}).Find("vm1", ""); err == nil {
		t.Error("missing /proc not reported")
	}
}

func TestIsZombie(t *testing.T) {
	for stat, want := range map[string]bool{"1 (init) S 0": false, "7 (a) b) Z 1": true, "9 (x": true, "": true, "3 (q) X": true} {
		if isZombie([]byte(stat)) != want {
			t.Errorf("%q", stat)
		}
	}
}
