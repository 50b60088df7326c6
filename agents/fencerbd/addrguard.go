package fencerbd

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/kvmha/kvmha/internal/agentlog"

	"github.com/kvmha/kvmha/internal/ceph"
)

// An addrGuard knows the addresses a heartbeat record must never make
// fence_rbd blocklist. A record is what the target last said about itself,
// read from shared storage: damaged, stale, or written by a misconfigured
// host, it could name the node running fence_rbd (which would cut its own
// clients off), a monitor (every client on the monitor's host), or another
// node. The CRC and limits of the heartbeat frame catch torn and corrupt
// records; the guard catches records that decode but must not be trusted.
type addrGuard struct {
	target string
	self   map[netip.Addr]bool // empty when unfencing (see newAddrGuard)
	// local are this host's interface addresses, also when unfencing: no
	// other node's hosts entry may cover them (see checkHosts).
	local map[netip.Addr]bool
	mons  map[netip.Addr]bool
	hosts hostMap // the other nodes' addresses
}

// newAddrGuard gathers what the guard needs: this host's interface
// addresses and its session's, the monitors' addresses of the session's
// mon_host, and the hosts option. When unfencing, fence_rbd runs on the
// target itself and only reads the blocklist, so its own addresses are the
// target's and are not excluded. A list it cannot get is an error: the
// record's addresses are then not used at all.
func (f *fencer) newAddrGuard(ctx context.Context, s settings, c cluster, target string, unfencing bool) (*addrGuard, error) {
	g := &addrGuard{target: target, self: map[netip.Addr]bool{}, mons: map[netip.Addr]bool{}, hosts: s.hosts}
	if !unfencing {
		local := f.localAddrs
		if local == nil {
			local = interfaceAddrs
		}
		ips, err := local()
		if err != nil {
			return nil, fmt.Errorf("listing this host's addresses: %w", err)
		}
		for _, ip := range ips {
			g.self[ip.Unmap()] = true
		}
		own, err := c.Addrs(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading this session's addresses: %w", err)
		}
		for _, a := range own {
			g.self[a.IP.Unmap()] = true
		}
	}
	mons, err := c.MonitorAddrs()
	if err != nil {
		return nil, fmt.Errorf("reading the monitors' addresses: %w", err)
	}
	for _, m := range mons {
		for _, ap := range []netip.AddrPort{m.V1, m.V2} {
			if ap.IsValid() {
				g.mons[ap.Addr().Unmap()] = true
			}
		}
	}
	return g, nil
}

func interfaceAddrs() ([]netip.Addr, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out, nil
}

// unsafe says why ip must not be blocklisted for the target, "" when it
// may be.
func (g *addrGuard) unsafe(ip netip.Addr) string {
	switch {
	case !ip.IsValid():
		return "not an address"
	case ip.IsUnspecified():
		return "unspecified address"
	case ip.IsLoopback():
		return "loopback address"
	case ip.IsMulticast():
		return "multicast address"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast address"
	case g.self[ip]:
		return "an address of this host, which runs fence_rbd"
	case g.mons[ip]:
		return "a monitor's address"
	}
	for _, n := range g.hosts.names {
		if n == g.target {
			continue
		}
		for _, p := range g.hosts.addrs[n] {
			if p.Contains(ip) {
				return "hosts gives it to " + n
			}
		}
	}
	return ""
}

// recordIPs returns the IPs of a record's Ceph client addresses (entity
// addresses or address vectors, as Record.Addrs holds them) that are safe
// to blocklist, each once, and a note for every address it skipped.
func (g *addrGuard) recordIPs(addrs []string) (ips []netip.Addr, skipped []string) {
	seen := map[netip.Addr]bool{}
	for _, text := range addrs {
		parsed, err := ceph.ParseEntityAddrs(text)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%q (not an entity address)", agentlog.Clip(text)))
			continue
		}
		for _, a := range parsed {
			ip := a.IP.Unmap()
			if seen[ip] {
				continue
			}
			seen[ip] = true
			switch why := g.unsafe(ip); {
			case why != "":
				skipped = append(skipped, fmt.Sprintf("%s (%s)", ip, why))
			case len(ips) == maxHostAddrs:
				skipped = append(skipped, fmt.Sprintf("%s (more than %d addresses)", ip, maxHostAddrs))
			default:
				ips = append(ips, ip)
			}
		}
	}
	return ips, skipped
}
