package ceph

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	if network != "ip" {
		return nil, errors.New("unexpected network " + network)
	}
	ips, ok := f[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	var out []netip.Addr
	for _, s := range ips {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

func TestResolveMonHost(t *testing.T) {
	r := fakeResolver{
		"mons.example":  {"10.0.0.1", "10.0.0.2", "fd00::3"},
		"mon1.example":  {"10.0.0.1"},
		"other.example": {"10.9.9.9"},
	}
	for in, want := range map[string]string{
		"10.0.0.1":                                         "10.0.0.1",
		"[v2:10.0.0.1:3300,v1:10.0.0.1:6789]":              "[v2:10.0.0.1:3300,v1:10.0.0.1:6789]",
		"10.0.0.1:6789, [::1]:6789;10.0.0.2":               "10.0.0.1:6789, [::1]:6789;10.0.0.2",
		"mons.example":                                     "10.0.0.1,10.0.0.2,[fd00::3]",
		"mons.example:6789":                                "10.0.0.1:6789,10.0.0.2:6789,[fd00::3]:6789",
		"v1:mons.example:6789":                             "v1:10.0.0.1:6789,v1:10.0.0.2:6789,v1:[fd00::3]:6789",
		"mon1.example mons.example":                        "10.0.0.1,10.0.0.2,[fd00::3]",
		"gone.example,other.example":                       "10.9.9.9",
		"[v2:10.0.0.7:3300,v1:10.0.0.7:6789] mon1.example": "[v2:10.0.0.7:3300,v1:10.0.0.7:6789],10.0.0.1",
	} {
		got, err := ResolveMonHost(context.Background(), r, in)
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", " , ", "gone.example", "bad_host!", "10.0.0.1:99999", "[v2:junk]",
		"host.example:0/1", "-lead.example", strings.Repeat("a,", 100),
		// Numeric forms the C resolver would read as addresses.
		"0", "9999999999", "2130706433", "127.1", "10.0.0.300", "v2:0:3300"} {
		if got, err := ResolveMonHost(context.Background(), r, bad); err == nil {
			t.Errorf("%q accepted as %q", bad, got)
		}
	}
}

func TestTimeoutSeconds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2500*1e6)
	defer cancel()
	if s := timeoutSeconds(ctx); s != 3 {
		t.Errorf("2.5 s left: %d", s)
	}
	if s := timeoutSeconds(context.Background()); s != 30 {
		t.Errorf("no deadline: %d", s)
	}
	if secondsCeil(-5) != 1 || secondsCeil(0) != 1 {
		t.Error("librados takes 0 as no timeout: the minimum must be 1")
	}
}

func TestTrimNULAndExclude(t *testing.T) {
	if trimNUL("internal\x00") != "internal" {
		t.Error("trimNUL")
	}
	a, _ := ParseEntityAddr("10.0.0.1:0/1")
	b, _ := ParseEntityAddr("10.0.0.1:0/2")
	hs := excludeAddrs([]Holder{{Addr: a}, {Addr: b}}, []EntityAddr{a})
	if len(hs) != 1 || hs[0].Addr != b {
		t.Errorf("exclude: %v", hs)
	}
	h := Holder{Kind: Locker, Entity: "client.9", Addr: b, Pool: "rbd", Namespace: "ns", Image: "img"}
	if h.String() != "client.9 at 10.0.0.1:0/2 (locker of rbd/ns/img)" {
		t.Errorf("String: %s", h)
	}
}
