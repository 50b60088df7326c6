package fencerbd

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func FuzzParseHosts(f *testing.F) {
	for _, s := range []string{testHosts, "node1=10.0.0.1,10.0.0.0/24", "n:[fd00::1]", "a=1.2.3.4;a=1.2.3.5", ";;", "x=,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseHosts(s)
		if err != nil {
			return
		}
		for _, n := range m.names {
			tg, err := m.resolveTarget(n)
			if err != nil || len(tg.entries()) != len(tg.addrs) || len(tg.addrs) == 0 {
				t.Fatalf("node %q of %q: %v %v", n, s, tg, err)
			}
		}
	})
}

func FuzzResolveTarget(f *testing.F) {
	for _, s := range []string{"node1", "10.0.0.1", "10.0.0.1,fd00::1", "[fd00::1]", "10.0.0.0/8", ",", "node9"} {
		f.Add(s)
	}
	m, _ := parseHosts(testHosts)
	f.Fuzz(func(t *testing.T, plug string) {
		tg, err := m.resolveTarget(plug)
		if err == nil && (tg.name == "" || len(tg.addrs) == 0) {
			t.Fatalf("%q: empty target %+v", plug, tg)
		}
	})
}

func FuzzParseExpire(f *testing.F) {
	for _, s := range []string{"10y", "3600", "1s", "0", "51y", "9999999999999", "5w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseExpire(s)
		if err == nil && (d < minExpire || d > maxExpire) {
			t.Fatalf("%q: %v out of bounds", s, d)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	r := record{Version: recordVersion, Target: "node2"}
	es, _ := parseAddrList("10.0.0.2,10.1.0.0/16")
	r.add(target{addrs: es}.entries(), time.Unix(0, 0), "n1")
	for _, s := range []string{string(r.encode()), "{}", `{"version":1,"entries":[{"entry":"junk"}]}`, "null", `{"version":1,"entries":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, es, err := decodeRecord(data)
		if err != nil {
			return
		}
		if len(es) != len(rec.Entries) {
			t.Fatalf("%d entries parsed of %d", len(es), len(rec.Entries))
		}
		back, es2, err := decodeRecord(rec.encode())
		if err != nil || len(es2) != len(es) || back.Target != rec.Target {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
	})
}

// FuzzRecordIPs: whatever a heartbeat record holds, the guard returns only
// addresses it would itself accept, each once, never too many, and never
// panics.
func FuzzRecordIPs(f *testing.F) {
	for _, s := range []string{"v2:10.0.0.2:0/1\n10.0.0.3:0/2", "[v2:10.0.0.2:0/1,v1:10.0.0.2:0/1]", "127.0.0.1:0/1",
		"0.0.0.0:0/0", "[::ffff:10.0.0.1]:0/1", "junk\n\n[", "10.0.0.1:0/1\n[fd00::3]:0/2", "224.0.0.1", "10.0.9.1:6789/0"} {
		f.Add(s)
	}
	hosts, _ := parseHosts(testHosts)
	g := &addrGuard{target: "node4", hosts: hosts,
		self: map[netip.Addr]bool{netip.MustParseAddr("10.0.0.99"): true},
		mons: map[netip.Addr]bool{netip.MustParseAddr("10.0.9.1"): true}}
	f.Fuzz(func(t *testing.T, s string) {
		ips, _ := g.recordIPs(strings.Split(s, "\n"))
		if len(ips) > maxHostAddrs {
			t.Fatalf("%d addresses", len(ips))
		}
		seen := map[netip.Addr]bool{}
		for _, ip := range ips {
			if why := g.unsafe(ip); why != "" || seen[ip] || ip.Is4In6() {
				t.Fatalf("%q gave %s (%s, seen %v)", s, ip, why, seen[ip])
			}
			seen[ip] = true
		}
	})
}

// FuzzTargetGuard: whatever a plug says, a target the guard lets through
// never reaches all addresses, a special network, this host, a monitor or
// past one node's hosts entry.
func FuzzTargetGuard(f *testing.F) {
	for _, s := range []string{"0.0.0.0/0", "::/0", "10.0.0.0/8", "127.0.0.1", "::ffff:127.0.0.1", "::fffe:0:0/95", "[::1]",
		"10.0.0.2", "10.0.0.2,10.0.0.1", "10.5.0.0/16", "fd00::/64", "224.0.0.1", "10.0.9.1", "10.0.0.99/32", "node2"} {
		f.Add(s)
	}
	hosts, _ := parseHosts(testHosts)
	self, mon := netip.MustParseAddr("10.0.0.99"), netip.MustParseAddr("10.0.9.1")
	f.Fuzz(func(t *testing.T, plug string) {
		tg, err := hosts.resolveTarget(plug)
		if err != nil {
			return
		}
		_, named := hosts.addrs[plug]
		g := &addrGuard{target: tg.name, hosts: hosts, self: map[netip.Addr]bool{self: true}, mons: map[netip.Addr]bool{mon: true}}
		if g.checkTarget(tg, !named) != nil {
			return
		}
		owners := map[string]bool{}
		for _, p := range tg.addrs {
			if p.Bits() == 0 || p.Contains(self) || p.Contains(mon) || p.Addr().Is4In6() {
				t.Fatalf("%q: %s passed the guard", plug, p)
			}
			for _, s := range specialNets {
				if p.Overlaps(s.net) {
					t.Fatalf("%q: %s touches %s", plug, p, s.net)
				}
			}
			for _, n := range hosts.names {
				for _, q := range hosts.addrs[n] {
					if p.Overlaps(q) {
						owners[n] = true
						if !named && q.Bits() > p.Bits() {
							t.Fatalf("%q: %s reaches past %s of %s", plug, p, q, n)
						}
					}
				}
			}
		}
		if len(owners) > 1 {
			t.Fatalf("%q reaches %d nodes", plug, len(owners))
		}
	})
}
