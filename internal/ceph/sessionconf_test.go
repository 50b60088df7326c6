package ceph

import (
	"net/netip"
	"testing"
)

func TestParseMonAddrs(t *testing.T) {
	ap := func(s string) netip.AddrPort {
		if s == "" {
			return netip.AddrPort{}
		}
		return netip.MustParseAddrPort(s)
	}
	got, err := ParseMonAddrs("[v2:10.0.0.1:3300,v1:10.0.0.1:6789],v1:10.0.0.2:6790 10.0.0.3:3300;10.0.0.4:16301,10.0.0.5,[fd00::6]:6789")
	if err != nil {
		t.Fatal(err)
	}
	want := []MonAddrs{
		{V1: ap("10.0.0.1:6789"), V2: ap("10.0.0.1:3300")},
		{V1: ap("10.0.0.2:6790")},
		{V2: ap("10.0.0.3:3300")},
		{V1: ap("10.0.0.4:16301")},
		{V1: ap("10.0.0.5:6789"), V2: ap("10.0.0.5:3300")},
		{V1: ap("[fd00::6]:6789")},
	}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", "mon.example:6789", "[v2:1.2.3.4:3300", "1.2.3.4:99999"} {
		if _, err := ParseMonAddrs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
