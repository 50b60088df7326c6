package ceph

import (
	"net/netip"
	"testing"
)

func TestParseEntityAddr(t *testing.T) {
	good := []struct {
		in, out string
		want    EntityAddr
	}{
		{"1.2.3.4:0/3282", "1.2.3.4:0/3282", EntityAddr{IP: netip.MustParseAddr("1.2.3.4"), Nonce: 3282}},
		{"v1:1.2.3.4:6789/123", "v1:1.2.3.4:6789/123", EntityAddr{Type: "v1", IP: netip.MustParseAddr("1.2.3.4"), Port: 6789, Nonce: 123}},
		{"v2:10.0.0.1:3300/0", "v2:10.0.0.1:3300/0", EntityAddr{Type: "v2", IP: netip.MustParseAddr("10.0.0.1"), Port: 3300}},
		{"any:10.0.0.1:0/7", "any:10.0.0.1:0/7", EntityAddr{Type: "any", IP: netip.MustParseAddr("10.0.0.1"), Nonce: 7}},
		{"[::1]:0/1", "[::1]:0/1", EntityAddr{IP: netip.MustParseAddr("::1"), Nonce: 1}},
		{"[fd00::5]:6789/4294967295", "[fd00::5]:6789/4294967295", EntityAddr{IP: netip.MustParseAddr("fd00::5"), Port: 6789, Nonce: 4294967295}},
		{"10.1.1.1", "10.1.1.1:0/0", EntityAddr{IP: netip.MustParseAddr("10.1.1.1")}},
		{"10.1.1.1:6789", "10.1.1.1:6789/0", EntityAddr{IP: netip.MustParseAddr("10.1.1.1"), Port: 6789}},
		{"fd00::1", "[fd00::1]:0/0", EntityAddr{IP: netip.MustParseAddr("fd00::1")}},
		{"[fd00::1]", "[fd00::1]:0/0", EntityAddr{IP: netip.MustParseAddr("fd00::1")}},
		{"v1:::1", "v1:[::1]:0/0", EntityAddr{Type: "v1", IP: netip.MustParseAddr("::1")}},
	}
	for _, c := range good {
		got, err := ParseEntityAddr(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("%q: got %+v, want %+v", c.in, got, c.want)
		}
		if got.String() != c.out {
			t.Errorf("%q: prints %q, want %q", c.in, got.String(), c.out)
		}
	}
	for _, bad := range []string{"", "-", "1.2.3.4:", "1.2.3.4:/1", "1.2.3.4:0/", "1.2.3.4:0/-1",
		"1.2.3.4:65536/0", "1.2.3.4:0/4294967296", "1.2.3.4:+1/0", "[::1", "[::1]x", "[::1]:", "v3:1.2.3.4:0/0",
		"fe80::1%eth0", "[fe80::1%eth0]:0/0", "host.example:6789", "1.2.3.4:0/1/2"} {
		if a, err := ParseEntityAddr(bad); err == nil {
			t.Errorf("%q: accepted as %v", bad, a)
		}
	}
}

func TestEntityAddrEqualIgnoresType(t *testing.T) {
	a, _ := ParseEntityAddr("v1:1.2.3.4:0/9")
	b, _ := ParseEntityAddr("1.2.3.4:0/9")
	if !a.Equal(b) || a.Host().String() != "1.2.3.4:0/0" || !a.Host().IsHost() || a.IsHost() {
		t.Fatalf("Equal/Host: %v %v", a, b)
	}
}

func TestParseEntityAddrs(t *testing.T) {
	got, err := ParseEntityAddrs("[v2:10.0.0.1:3300/0,v1:10.0.0.1:6789/0]")
	if err != nil || len(got) != 2 || got[0].Type != "v2" || got[1].Port != 6789 {
		t.Fatalf("vector: %v %v", got, err)
	}
	got, err = ParseEntityAddrs("127.0.0.1:0/1709551582")
	if err != nil || len(got) != 1 || got[0].Nonce != 1709551582 {
		t.Fatalf("single: %v %v", got, err)
	}
	got, err = ParseEntityAddrs("[::1]")
	if err != nil || len(got) != 1 {
		t.Fatalf("bracketed IPv6: %v %v", got, err)
	}
	for _, bad := range []string{"[]", "[,]", "[v2:10.0.0.1:3300/0,junk]", "["} {
		if _, err := ParseEntityAddrs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
