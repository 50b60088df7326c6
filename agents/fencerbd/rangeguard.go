package fencerbd

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/fence"
)

// The addresses of a fencing target come from three places: a heartbeat
// record (checked address by address in recordIPs), the hosts option and
// the plug, which may itself be a list of addresses or networks. An
// operator's typo in the last two is as dangerous as a damaged record:
// "-n 0.0.0.0/0" or "hosts=node1=0.0.0.0/0" would blocklist every client
// of the cluster, a /16 around the node the fencer itself, the monitors'
// hosts or the other nodes. The same guard holds for them, network by
// network: validate (run before every action, so also before off) refuses
// what the options alone show; off checks once more against what only the
// session knows (its own addresses, the monitors it resolved), and refuses
// rather than blocklist.

// specialNets are networks no entry of fence_rbd may touch, however small
// the part: no Ceph client of a node uses them, and an entry there either
// blocks nothing or blocks every host (0.0.0.0 and ::: every client that
// connected from an unspecified address).
var specialNets = []struct {
	net  netip.Prefix
	what string
}{
	{netip.MustParsePrefix("0.0.0.0/32"), "the unspecified address 0.0.0.0"},
	{netip.MustParsePrefix("::/128"), "the unspecified address ::"},
	{netip.MustParsePrefix("127.0.0.0/8"), "the loopback network 127.0.0.0/8"},
	{netip.MustParsePrefix("::1/128"), "the loopback address ::1"},
	{netip.MustParsePrefix("224.0.0.0/4"), "the multicast network 224.0.0.0/4"},
	{netip.MustParsePrefix("ff00::/8"), "the multicast network ff00::/8"},
	{netip.MustParsePrefix("255.255.255.255/32"), "the broadcast address"},
	{netip.MustParsePrefix("::ffff:0:0/96"), "the IPv4-mapped addresses ::ffff:0:0/96"},
}

// describe is p as messages write it: a bare address, or a network.
func describe(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// covers words "p covers what" for a network and "p is what" for one
// address.
func covers(p netip.Prefix, what string) string {
	if p.IsSingleIP() {
		return describe(p) + " is " + what
	}
	return describe(p) + " covers " + what
}

// coversIP words "10.0.0.0/24 covers 10.0.0.5, what" for a network and
// "10.0.0.5 is what" for the address itself.
func coversIP(p netip.Prefix, ip netip.Addr, what string) string {
	if p.IsSingleIP() {
		return describe(p) + " is " + what
	}
	return describe(p) + " covers " + ip.String() + ", " + what
}

// unsafeRange says why the network p must not be blocklisted for the
// guard's target, "" when it may be. byAddress says that the target is a
// list of addresses (the plug) rather than a node of hosts: p may then lie
// inside a node's entry (it is that node, named by address), but not
// reach past it.
func (g *addrGuard) unsafeRange(p netip.Prefix, byAddress bool) string {
	if p.Bits() == 0 {
		family := "IPv4"
		if p.Addr().Is6() {
			family = "IPv6"
		}
		return describe(p) + " covers every " + family + " address"
	}
	for _, s := range specialNets {
		switch {
		case !p.Overlaps(s.net):
		case p.IsSingleIP() && !s.net.IsSingleIP():
			return describe(p) + " lies in " + s.what
		default:
			return covers(p, s.what)
		}
	}
	for _, ip := range slices.SortedFunc(maps.Keys(g.self), netip.Addr.Compare) {
		if p.Contains(ip) {
			return coversIP(p, ip, "an address of this host, which runs fence_rbd")
		}
	}
	for _, ip := range slices.SortedFunc(maps.Keys(g.mons), netip.Addr.Compare) {
		if p.Contains(ip) {
			return coversIP(p, ip, "a monitor's address")
		}
	}
	for _, n := range g.hosts.names {
		if n == g.target {
			continue
		}
		for _, q := range g.hosts.addrs[n] {
			if !p.Overlaps(q) || byAddress && q.Bits() <= p.Bits() {
				continue
			}
			// Two networks that overlap nest: one holds the other.
			switch {
			case p == q:
				return describe(p) + " belongs to " + n + " in hosts"
			case p.Bits() < q.Bits():
				return describe(p) + " covers " + describe(q) + " of " + n + " in hosts"
			}
			return describe(p) + " lies in " + describe(q) + " of " + n + " in hosts"
		}
	}
	return ""
}

// checkTarget refuses a target any of whose networks the guard forbids,
// and a list of addresses that reaches into the entries of more than one
// node of hosts (one plug fences one node).
func (g *addrGuard) checkTarget(t target, byAddress bool) error {
	for _, p := range t.addrs {
		if why := g.unsafeRange(p, byAddress); why != "" {
			return fmt.Errorf("refusing to blocklist: %s", why)
		}
	}
	if !byAddress {
		return nil
	}
	var nodes []string
	for _, n := range g.hosts.names {
		for _, q := range g.hosts.addrs[n] {
			if slices.ContainsFunc(t.addrs, q.Overlaps) && !slices.Contains(nodes, n) {
				nodes = append(nodes, n)
			}
		}
	}
	if len(nodes) > 1 {
		return fmt.Errorf("refusing to blocklist: %s holds addresses of %s in hosts, and a plug fences one node",
			t.name, strings.Join(nodes, " and "))
	}
	return nil
}

// checkHosts checks the hosts option as a whole: no entry touches a
// special network or a monitor, no two nodes' entries overlap (fencing one
// would cut the other off), and when this host is a node of hosts by its
// host name, no other node's entry covers an address of this host.
func (g *addrGuard) checkHosts(self string) error {
	h := g.hosts
	for i, n := range h.names {
		for _, p := range h.addrs[n] {
			other := &addrGuard{target: n, mons: g.mons, hosts: hostMap{names: h.names[i+1:], addrs: h.addrs}}
			if n != self && self != "" {
				other.self = g.local
			}
			if why := other.unsafeRange(p, false); why != "" {
				return fmt.Errorf("hosts: node %s: %s", n, why)
			}
		}
	}
	return nil
}

// guardWait bounds what validate spends finding the monitors' addresses:
// resolving names in mon_host. It never holds an action back; off checks
// against the session's monitors again.
const guardWait = time.Second

// configGuard is the guard validate can build without a session: this
// host's interface addresses (forbidden to the target only when fencing:
// unfencing runs on the target itself), and the monitors of mon_host or of the configuration file when
// they can be read and resolved in time (off checks against the session's
// again).
func (f *fencer) configGuard(ctx context.Context, r *fence.Request, s settings, fencing bool) *addrGuard {
	g := &addrGuard{self: map[netip.Addr]bool{}, local: map[netip.Addr]bool{}, mons: map[netip.Addr]bool{}, hosts: s.hosts}
	local := f.localAddrs
	if local == nil {
		local = interfaceAddrs
	}
	ips, err := local()
	if err != nil {
		// Off checks again against the session's own addresses.
		r.Log.Warnf("not checking against this host's addresses: listing them: %v", err)
	}
	for _, ip := range ips {
		g.local[ip.Unmap()] = true
	}
	if fencing {
		g.self = g.local
	}
	monHost, err := s.cfg.MonHost()
	if err != nil || monHost == "" {
		r.Log.Debugf("not checking against the monitors' addresses before connecting: %v", err)
		return g
	}
	rctx, cancel := context.WithTimeout(ctx, guardWait)
	defer cancel()
	resolved, err := ceph.ResolveMonHost(rctx, nil, monHost)
	if err != nil {
		r.Log.Debugf("not checking against the monitors' addresses before connecting: %v", err)
		return g
	}
	mons, err := ceph.ParseMonAddrs(resolved)
	if err != nil {
		r.Log.Debugf("not checking against the monitors' addresses before connecting: %v", err)
		return g
	}
	g.addMons(mons)
	return g
}

func (g *addrGuard) addMons(mons []ceph.MonAddrs) {
	for _, m := range mons {
		for _, ap := range []netip.AddrPort{m.V1, m.V2} {
			if ap.IsValid() {
				g.mons[ap.Addr().Unmap()] = true
			}
		}
	}
}

// changesFencing: the action blocklists or unblocklists.
func changesFencing(action string) bool {
	return action == fence.ActionOff || action == fence.ActionReboot || action == fence.ActionOn
}

// fencingAction reports whether the action blocklists the target (or
// checks that it could): this host's own addresses are then off limits.
func fencingAction(action string) bool {
	return action == fence.ActionOff || action == fence.ActionReboot || action == fence.ActionValidateAll
}

// hostName is this host's name as hosts would list it: the name the
// fencer was given in tests, else the kernel's host name; "" when unknown.
func (f *fencer) hostName(h hostMap) string {
	name := f.hostname
	if name == "" {
		name, _ = os.Hostname()
	}
	short, _, _ := strings.Cut(name, ".")
	for _, n := range []string{name, short} {
		if _, ok := h.addrs[n]; ok && n != "" {
			return n
		}
	}
	return ""
}
