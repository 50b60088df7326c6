package doctor

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/corosyncconf"
)

// Every parser of host files and of what daemons print must never panic
// and must only return what it promises, whatever the input.

func FuzzParseModuleList(f *testing.F) {
	for _, s := range []string{"kernel/drivers/block/nbd.ko.xz: kernel/a.ko\n", "x.ko", ".ko:", "a/b-c.ko.zst:\n\n:", "\x00.ko"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, p := range parseModuleList(s) {
			if name == "" || strings.Contains(name, "-") || !strings.Contains(p, ".ko") || strings.Contains(p, ":") {
				t.Fatalf("%q: %q → %q", s, name, p)
			}
		}
		for name := range parseProcModules(s) {
			if name == "" || strings.ContainsAny(name, "- \t\n") {
				t.Fatalf("%q: module %q", s, name)
			}
		}
	})
}

func FuzzParseModprobeConf(f *testing.F) {
	for _, s := range []string{"install nbd /bin/false\n", "blacklist x\\\n\\\n", "install a \\", "# c\ninstall\n", "\\\n\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var r modprobeRules
		r.install, r.blacklist = map[string]modprobeRule{}, map[string]modprobeRule{}
		parseModprobeConf("f.conf", s, &r)
		lines := strings.Count(s, "\n") + 1
		for name, rule := range r.install {
			if name == "" || rule.command == "" || !strings.HasPrefix(rule.where, "f.conf:") {
				t.Fatalf("%q: %q %+v", s, name, rule)
			}
			var n int
			for _, c := range strings.TrimPrefix(rule.where, "f.conf:") {
				n = n*10 + int(c-'0')
			}
			if n < 1 || n > lines {
				t.Fatalf("%q: line %d of %d", s, n, lines)
			}
			_ = rule.blocks()
		}
	})
}

func FuzzParseProcNetTCP(f *testing.F) {
	f.Add(procNetTCP)
	f.Add(procNetTCP6)
	f.Add("0: 0100007F:FFFF 0:0 0A a b c d e 18446744073709551615")
	f.Add("0: 01:1 0:0 0A a b c d e 1")
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range parseProcNetTCP(s) {
			if !l.addr.IsValid() {
				t.Fatalf("%q: invalid address in %+v", s, l)
			}
		}
	})
}

func FuzzScanQemuStrings(f *testing.F) {
	f.Add([]byte("\x00qemu_stamp_abc\x00/usr/lib/x86_64-linux-gnu/qemu\x00"))
	f.Add([]byte("qemu_stamp_\x00/qemu\x00//qemu"))
	f.Fuzz(func(t *testing.T, data []byte) {
		stamp, dirs := scanQemuStrings(data)
		if stamp != "" && (!strings.HasPrefix(stamp, stampPrefix) || !bytes.Contains(data, []byte(stamp))) {
			t.Fatalf("stamp %q", stamp)
		}
		for _, d := range dirs {
			if !strings.HasPrefix(d, "/") || !strings.HasSuffix(d, "/qemu") || strings.ContainsAny(d, "\x00 \n") {
				t.Fatalf("dir %q", d)
			}
		}
	})
}

func FuzzSplitMonHost(f *testing.F) {
	for _, s := range []string{"[v2:1.2.3.4:3300,v1:1.2.3.4:6789],mon.x", "]]],[[", "a, b;c\td", "[::1]:6789 [", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		total := 0
		for _, e := range ceph.SplitMonHost(s) {
			if e == "" || !strings.Contains(s, e) {
				t.Fatalf("%q: entry %q", s, e)
			}
			total += len(e)
		}
		if total > len(s) {
			t.Fatalf("%q: entries longer than the value", s)
		}
	})
}

func FuzzParseCephTime(f *testing.F) {
	for _, s := range []string{"2026-11-22T03:14:27.112183+0000", "2026-11-22T03:14:27Z", "0000-01-01T00:00:00+2359", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseCephTime(s)
		if err != nil {
			return
		}
		again, err := parseCephTime(v.Format(time.RFC3339Nano))
		if err != nil || !again.Equal(v) {
			t.Fatalf("%q → %v → %v %v", s, v, again, err)
		}
	})
}

func FuzzParseOSRelease(f *testing.F) {
	f.Add("ID=debian\n")
	f.Add("ID_LIKE=\"rhel fedora\"\nID=rocky")
	f.Fuzz(func(t *testing.T, s string) {
		if d := parseOSRelease(s); d < distroUnknown || d > distroSUSE {
			t.Fatalf("%q: %v", s, d)
		}
	})
}

func FuzzParseUnitOrdering(f *testing.F) {
	for _, s := range []string{debPacemaker, debVirtlockd, "[Unit]\nAfter=a.service \\\n b.target\n", "[Unit]\nAfter=\nBefore=x.y\n",
		"[Unit\nAfter=a.b", "\\\n\\", "[Unit]\nAfter=\"q.service\" ../x.service /y.target ..\n", "[Unit]\r\nAfter = a.b\r\n", "\\", "[Unit]\nAfter=a.b\n \\\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		after, before := parseUnitOrdering("f.conf", s, nil, nil)
		for _, r := range append(after, before...) {
			if !validUnitName(r.unit) || strings.ContainsAny(r.unit, " \t\n\r\"'") || r.file != "f.conf" || !strings.Contains(s, r.unit) {
				t.Fatalf("%q: %+v", s, r)
			}
		}
	})
}

func FuzzPacemakerTimes(f *testing.F) {
	for _, s := range []string{"90", "90s", "2min", "1m30s", "500ms", "PT1M30S", "P1W2DT3H4M5S", " 7 us", "99999999999999999999999h", "P9999999999D"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := pacemakerInterval(s); ok && (d < 0 || d > maxPacemakerTime) {
			t.Fatalf("%q: %v", s, d)
		}
		if d := fencerSeconds(s); d < 0 || d > maxPacemakerTime || d%time.Second != 0 {
			t.Fatalf("%q: fencer %v", s, d)
		}
	})
}

func FuzzParseTotemTimes(f *testing.F) {
	f.Add(corosyncConf(3, "    token: 5000\n    consensus: 6000\n"), 3)
	f.Add("totem {\ntoken: 4294967295\ntoken_coefficient: 4294967295\n}\n", 1000)
	f.Fuzz(func(t *testing.T, s string, nodes int) {
		if _, err := corosyncconf.Parse([]byte(s)); err != nil || nodes < 0 || nodes > 100000 {
			return
		}
		tt, err := parseTotemTimes([]byte(s), nodes)
		if err == nil && (tt.token < 0 || tt.consensus < 0) {
			t.Fatalf("%q: %+v", s, tt)
		}
	})
}
