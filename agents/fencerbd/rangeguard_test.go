package fencerbd

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
)

// The fake host runs fence_rbd as "fencer1" with the addresses testSelf
// (10.0.0.99, 127.0.0.1); the configuration file's monitor is 10.0.9.1;
// hosts is testHosts unless a case gives its own.

// TestPlugThatMustNeverBeBlocklisted: a plug that is an address list is
// refused, by validate-all and by off, when it reaches what the guard
// protects; off then leaves the blocklist alone.
func TestPlugThatMustNeverBeBlocklisted(t *testing.T) {
	for plug, why := range map[string]string{
		"0.0.0.0/0":          "0.0.0.0/0 covers every IPv4 address",
		"::/0":               "::/0 covers every IPv6 address",
		"0.0.0.0":            "0.0.0.0 is the unspecified address",
		"::":                 ":: is the unspecified address",
		"127.0.0.0/8":        "127.0.0.0/8 covers the loopback network",
		"127.0.0.1":          "127.0.0.1 lies in the loopback network 127.0.0.0/8",
		"::1":                "::1 is the loopback address ::1",
		"[::1]":              "::1 is the loopback address ::1",
		"::ffff:127.0.0.1":   "127.0.0.1 lies in the loopback network 127.0.0.0/8",
		"::ffff:0:0/96":      "0.0.0.0/0 covers every IPv4 address",
		"::fffe:0:0/95":      "::fffe:0:0/95 covers the IPv4-mapped addresses",
		"224.0.0.1":          "224.0.0.1 lies in the multicast network 224.0.0.0/4",
		"239.0.0.0/8":        "covers the multicast network",
		"ff02::1":            "ff02::1 lies in the multicast network ff00::/8",
		"255.255.255.255":    "is the broadcast address",
		"10.0.9.0/24":        "10.0.9.0/24 covers 10.0.9.1, a monitor's address",
		"10.0.9.1":           "10.0.9.1 is a monitor's address",
		"10.0.0.99":          "10.0.0.99 is an address of this host, which runs fence_rbd",
		"10.0.0.64/26":       "10.0.0.64/26 covers 10.0.0.99, an address of this host",
		"10.0.1.0/24":        "10.0.1.0/24 covers 10.0.1.2 of node2 in hosts",
		"10.0.0.0/30":        "10.0.0.0/30 covers 10.0.0.1 of node1 in hosts",
		"fd00::/64":          "fd00::/64 covers fd00::3 of node3 in hosts",
		"10.0.0.1,10.0.0.2":  "holds addresses of node1 and node2 in hosts",
		"10.5.0.1,0.0.0.0/0": "0.0.0.0/0 covers every IPv4 address",
	} {
		for _, action := range []string{"validate-all", "off"} {
			c := newFakeCluster()
			code, _, errs := run(t, c, "action="+action+"\nplug="+plug)
			if code != 1 || !strings.Contains(errs, why) || !strings.Contains(errs, "plug") {
				t.Errorf("%s %s: exit %d, want 1 saying %q:\n%s", action, plug, code, why, errs)
			}
			if len(c.bl) != 0 || c.dials != 0 {
				t.Errorf("%s %s: blocklist %v, %d dials", action, plug, c.bl, c.dials)
			}
		}
	}
}

// TestHostsThatMustNeverBeBlocklisted: a hosts entry that reaches what the
// guard protects fails every action, validate-all and off first.
func TestHostsThatMustNeverBeBlocklisted(t *testing.T) {
	for hosts, why := range map[string]string{
		"node1=0.0.0.0/0":                      "node node1: 0.0.0.0/0 covers every IPv4 address",
		"node1=10.0.0.1;node2=::/0":            "node node2: ::/0 covers every IPv6 address",
		"node1=127.0.0.0/8":                    "node node1: 127.0.0.0/8 covers the loopback network",
		"node1=127.0.0.1":                      "127.0.0.1 lies in the loopback network 127.0.0.0/8",
		"node1=::1":                            "::1 is the loopback address ::1",
		"node1=224.0.0.0/24":                   "covers the multicast network",
		"node1=10.0.9.0/24":                    "10.0.9.0/24 covers 10.0.9.1, a monitor's address",
		"node1=10.0.9.1":                       "10.0.9.1 is a monitor's address",
		"node1=10.0.0.0/24;node2=10.0.0.2":     "node node1: 10.0.0.0/24 covers 10.0.0.2 of node2 in hosts",
		"node1=10.0.0.2;node2=10.0.0.0/24":     "node node1: 10.0.0.2 lies in 10.0.0.0/24 of node2 in hosts",
		"node1=10.0.0.2;node2=10.0.0.2":        "node node1: 10.0.0.2 belongs to node2 in hosts",
		"fencer1=10.0.1.99;node1=10.0.0.64/26": "node node1: 10.0.0.64/26 covers 10.0.0.99, an address of this host",
	} {
		for _, stdin := range []string{"action=validate-all", "action=off\nplug=node1", "action=monitor", "action=on\nplug=node1"} {
			c := newFakeCluster()
			code, _, errs := runHosts(t, c, "hosts="+hosts+"\n"+stdin)
			if code != 1 || !strings.Contains(errs, "hosts: node ") || !strings.Contains(errs, why) {
				t.Errorf("hosts=%s %q: exit %d, want 1 saying %q:\n%s", hosts, stdin, code, why, errs)
			}
			if len(c.bl) != 0 || c.dials != 0 {
				t.Errorf("hosts=%s %q: blocklist %v, %d dials", hosts, stdin, c.bl, c.dials)
			}
		}
	}
}

// TestOrdinaryAddressesStillFence: node addresses, /32s and networks that
// touch nothing the guard protects pass validate-all and are fenced.
func TestOrdinaryAddressesStillFence(t *testing.T) {
	for _, tc := range []struct{ hosts, plug, entries string }{
		{testHosts, "node2", "10.0.0.2:0/0 10.0.1.2:0/0"},
		{testHosts, "10.0.0.2", "10.0.0.2:0/0"},        // a node named by its address
		{testHosts, "10.0.0.2/32", "10.0.0.2:0/0"},     // the same as a /32
		{testHosts, "[fd00::3]", "[fd00::3]:0/0"},      // IPv6
		{testHosts, "::ffff:10.5.0.1", "10.5.0.1:0/0"}, // IPv4-mapped: the IPv4 address
		{testHosts, "10.5.0.0/16", "10.5.0.0/16"},      // a network of no node
		{"node1=10.0.0.1/32;node2=10.0.0.2/32", "node1", "10.0.0.1:0/0"},
		{"node1=10.3.0.0/24;node2=10.0.0.2", "node1", "10.3.0.0/24"},
		{"node1=10.3.0.0/24", "10.3.0.7", "10.3.0.7:0/0"}, // inside the node's network
		{"fencer1=10.0.0.99;node1=10.0.0.1", "node1", "10.0.0.1:0/0"},
	} {
		c := newFakeCluster()
		if code, _, errs := runHosts(t, c, "hosts="+tc.hosts+"\naction=validate-all\nplug="+tc.plug); code != 0 {
			t.Errorf("validate-all hosts=%s plug=%s: exit %d\n%s", tc.hosts, tc.plug, code, errs)
			continue
		}
		if code, _, errs := runHosts(t, c, "hosts="+tc.hosts+"\naction=off\nplug="+tc.plug); code != 0 {
			t.Errorf("off hosts=%s plug=%s: exit %d\n%s", tc.hosts, tc.plug, code, errs)
			continue
		}
		blocklistIs(t, c, strings.Fields(tc.entries)...)
	}
}

// TestUnfencingRunsOnTheTarget: "on" runs on the node it unfences, whose
// addresses are this host's; validate-all and off from there are refused.
func TestUnfencingRunsOnTheTarget(t *testing.T) {
	c := newFakeCluster()
	c.bl = entries(t, "10.0.0.99:0/0")
	c.objects["kvmha/fence_rbd/fencer1"] = func() []byte {
		r := record{Version: recordVersion, Target: "fencer1"}
		r.add(entries(t, "10.0.0.99:0/0"), time.Now(), "node1")
		return r.encode()
	}()
	hosts := "hosts=fencer1=10.0.0.99;node1=10.0.0.1\n"
	if code, _, errs := runHosts(t, c, hosts+"action=validate-all\nplug=fencer1"); code != 1 ||
		!strings.Contains(errs, "10.0.0.99 is an address of this host") {
		t.Fatalf("validate-all of this host: %d %s", code, errs)
	}
	if code, _, errs := runHosts(t, c, hosts+"action=on\nplug=fencer1"); code != 0 {
		t.Fatalf("on: %d %s", code, errs)
	}
	blocklistIs(t, c)
}

// TestOffChecksWhatOnlyTheSessionKnows: an address of this host as the
// cluster sees it (NAT, another interface) or a monitor the configuration
// file does not name is only known once connected; off refuses then.
func TestOffChecksWhatOnlyTheSessionKnows(t *testing.T) {
	c := newFakeCluster()
	c.own = []ceph.EntityAddr{{IP: netip.MustParseAddr("10.6.0.7"), Nonce: 1}}
	c.mons = append(c.mons, ceph.MonAddrs{V2: netip.MustParseAddrPort("10.8.0.1:3300")})
	for plug, why := range map[string]string{
		"10.6.0.0/16": "10.6.0.0/16 covers 10.6.0.7, an address of this host",
		"10.8.0.1":    "10.8.0.1 is a monitor's address",
	} {
		if code, _, errs := run(t, c, "action=validate-all\nplug="+plug); code != 0 {
			t.Fatalf("validate-all %s (nothing in the options forbids it): %d %s", plug, code, errs)
		}
		code, _, errs := run(t, c, "action=off\nplug="+plug)
		if code != 1 || !strings.Contains(errs, why) {
			t.Errorf("off %s: %d, want 1 saying %q:\n%s", plug, code, why, errs)
		}
	}
	if len(c.bl) != 0 {
		t.Fatalf("blocklisted %v", c.bl)
	}
}
