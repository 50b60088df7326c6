package ceph

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"
)

// pacificLs is "osd blocklist ls" as the lab's Ceph 16.2.15 prints it.
const pacificLs = `[{"addr":"[fd00::1]:0/0","until":"2026-11-22T01:41:27.910356+0000"},` +
	`{"addr":"127.0.0.2:0/3282","until":"2026-11-22T00:42:27.662254+0000"},` +
	`{"addr":"10.77.0.2:0/0","until":"2036-11-19T00:41:27.390119+0000"}]` +
	`[{"range":"10.78.0.0:0/24","until":"2026-11-22T01:41:28.095741+0000"},{"range":"[fd00::]:0/64","until":"2026-11-22T01:41:33.449259+0000"}]`

func TestDecodeBlocklistPacific(t *testing.T) {
	bl, err := DecodeBlocklist([]byte(pacificLs))
	if err != nil {
		t.Fatal(err)
	}
	if len(bl) != 5 {
		t.Fatalf("want 5 entries, got %d: %v", len(bl), bl)
	}
	want := []string{"[fd00::1]:0/0", "127.0.0.2:0/3282", "10.77.0.2:0/0", "10.78.0.0/24", "fd00::/64"}
	for i, w := range want {
		if bl[i].String() != w {
			t.Errorf("entry %d: %s, want %s", i, bl[i], w)
		}
	}
	if u := bl[2].Until; u.Year() != 2036 || u.Nanosecond() != 390119000 {
		t.Errorf("until: %v", u)
	}
	if !bl[3].IsRange() || bl[0].IsRange() {
		t.Error("range classification")
	}
}

func TestDecodeBlocklistOtherShapes(t *testing.T) {
	for in, n := range map[string]int{
		``:                                       0,
		`[]`:                                     0,
		`[][]`:                                   0,
		" [] \n [] \n":                           0,
		`[{"addr":"1.2.3.4:0/1","until":"bad"}]`: 1, // unreadable until: kept, zero time
		`[{"addr":"1.2.3.4:0/1","extra":{"x":[1]}}]`: 1,
		`[{"range":"cidr:10.0.0.0:0/8"}]`:            1,
		`[{"range":"10.0.0.0/8"}]`:                   1,
	} {
		bl, err := DecodeBlocklist([]byte(in))
		if err != nil || len(bl) != n {
			t.Errorf("%q: %d entries, %v", in, len(bl), err)
		}
	}
	for _, bad := range []string{`{}`, `[1]`, `[{"addr":5}]`, `[{"addr":"junk"}]`, `[{"until":"x"}]`,
		`[{"range":"10.0.0.0:0/33"}]`, `[][`, `[{"addr":"1.2.3.4:0/1"}]x`} {
		if bl, err := DecodeBlocklist([]byte(bad)); err == nil {
			t.Errorf("%q accepted: %v", bad, bl)
		}
	}
}

func TestIsBlocklisted(t *testing.T) {
	bl, err := DecodeBlocklist([]byte(pacificLs))
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"127.0.0.2:0/3282":       true,  // exact
		"v1:127.0.0.2:0/3282":    true,  // type does not matter
		"127.0.0.2:0/3283":       false, // other session of that IP
		"10.77.0.2:0/999":        true,  // whole IP
		"10.77.0.3:0/999":        false,
		"10.78.0.200:0/1":        true, // range
		"10.78.1.1:0/1":          false,
		"[fd00::1]:0/5":          true,
		"[fd00::2]:0/5":          true, // range fd00::/64
		"[fd01::2]:0/5":          false,
		"[::ffff:10.77.0.2]:0/1": false, // no family mixing, like Ceph
	} {
		a, err := ParseEntityAddr(addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := bl.IsBlocklisted(a); got != want {
			t.Errorf("%s: blocklisted=%v, want %v", addr, got, want)
		}
	}
}

func TestParseBlocklistEntry(t *testing.T) {
	for in, out := range map[string]string{
		"10.0.0.1":        "10.0.0.1:0/0",
		"10.0.0.1:0/77":   "10.0.0.1:0/77",
		"v1:10.0.0.1:0/7": "10.0.0.1:0/7",
		"10.0.0.0/24":     "10.0.0.0/24",
		"10.0.0.9/24":     "10.0.0.0/24",
		"fd00::/64":       "fd00::/64",
		"[fd00::1]:0/9":   "[fd00::1]:0/9",
	} {
		e, err := ParseBlocklistEntry(in)
		if err != nil || e.String() != out {
			t.Errorf("%q: %v %v, want %s", in, e, err, out)
		}
	}
}

func TestBlocklistCommandJSON(t *testing.T) {
	cmd := newBlocklistCommand("add", HostEntry(netip.MustParseAddr("10.0.0.2")), 60*time.Second)
	b, _ := json.Marshal(cmd)
	if string(b) != `{"prefix":"osd blocklist","blocklistop":"add","addr":"10.0.0.2:0/0","expire":60.0}` {
		t.Errorf("add: %s", b)
	}
	cmd = newBlocklistCommand("rm", RangeEntry(netip.MustParsePrefix("10.1.0.0/16")), 0)
	b, _ = json.Marshal(cmd)
	if string(b) != `{"prefix":"osd blocklist","range":"range","blocklistop":"rm","addr":"10.1.0.0/16"}` {
		t.Errorf("rm range: %s", b)
	}
	b, _ = json.Marshal(cephSeconds(315360000))
	if string(b) != "315360000.0" {
		t.Errorf("ten years: %s", b)
	}
}
