package fencerbd

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"

	"github.com/kvmha/kvmha/internal/ceph"
)

// Limits on the hosts option, far above any real cluster.
const (
	maxHosts        = 1024
	maxHostAddrs    = 64
	maxHostsOptText = 256 << 10
)

// nodeNameRE matches cluster node names (host names, FQDNs, short names).
var nodeNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,252}$`)

// hostMap maps node names to the networks their Ceph clients use: a single
// address (/32, /128) or a wider network.
type hostMap struct {
	names []string // in the order given
	addrs map[string][]netip.Prefix
}

// parseHosts reads the hosts option, pcmk_host_map style:
//
//	node1=10.0.0.1,10.0.1.1;node2=10.0.0.2 node3:fd00::3,[fd00::33]
//
// Entries are separated by ';' or white space; a name is followed by '=' or
// ':' (the first one: node names have no colon) and a comma-separated list
// of IPv4 or IPv6 addresses (IPv6 with or without brackets) or networks in
// CIDR notation.
func parseHosts(s string) (hostMap, error) {
	m := hostMap{addrs: map[string][]netip.Prefix{}}
	if len(s) > maxHostsOptText {
		return m, errors.New("hosts is too long")
	}
	for _, entry := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
		name, list, err := splitHostEntry(entry)
		if err != nil {
			return m, err
		}
		if _, dup := m.addrs[name]; dup {
			return m, fmt.Errorf("hosts: node %s is listed twice", agentlog.Clip(name))
		}
		if len(m.names) == maxHosts {
			return m, fmt.Errorf("hosts: more than %d nodes", maxHosts)
		}
		addrs, err := parseAddrList(list)
		if err != nil {
			return m, fmt.Errorf("hosts: node %s: %w", agentlog.Clip(name), err)
		}
		m.names = append(m.names, name)
		m.addrs[name] = addrs
	}
	return m, nil
}

func splitHostEntry(entry string) (name, list string, err error) {
	i := strings.IndexAny(entry, "=:")
	if j := strings.IndexByte(entry, '='); j >= 0 {
		i = j // '=' wins: "node1=fd00::1"
	}
	if i < 0 {
		return "", "", fmt.Errorf("hosts: entry %q has no '=' between node name and addresses", agentlog.Clip(entry))
	}
	name, list = entry[:i], entry[i+1:]
	if !nodeNameRE.MatchString(name) {
		return "", "", fmt.Errorf("hosts: %q is not a node name", agentlog.Clip(name))
	}
	return name, list, nil
}

// parseAddrList reads "10.0.0.1,[fd00::1],10.1.0.0/24".
func parseAddrList(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		p, err := parseAddrOrNet(a)
		if err != nil {
			return nil, err
		}
		if len(out) == maxHostAddrs {
			return nil, fmt.Errorf("more than %d addresses", maxHostAddrs)
		}
		dup := false
		for _, q := range out {
			dup = dup || q == p
		}
		if !dup {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no address")
	}
	return out, nil
}

// parseAddrOrNet reads one address or network. IPv4-mapped IPv6 forms
// (::ffff:10.0.0.1, ::ffff:10.0.0.0/120) are read as the IPv4 address or
// network they map: Ceph compares a client's IPv4 address with IPv4
// entries, so the mapped form would blocklist nothing.
func parseAddrOrNet(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or network", agentlog.Clip(s))
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("network %s has host bits set (meant %s?)", p, p.Masked())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p, nil
	}
	t := s
	if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
		t = t[1 : len(t)-1]
	}
	ip, err := netip.ParseAddr(t)
	if err != nil || ip.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address", agentlog.Clip(s))
	}
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

// target is what one fencing request is about.
type target struct {
	name  string // record name: the node name, or the canonical address list
	addrs []netip.Prefix
}

// entries are the blocklist entries that fence the target: ip:0/0 for each
// address, a range for each network.
func (t target) entries() []ceph.BlocklistEntry {
	es := make([]ceph.BlocklistEntry, 0, len(t.addrs))
	for _, p := range t.addrs {
		if p.IsSingleIP() {
			es = append(es, ceph.HostEntry(p.Addr()))
		} else {
			es = append(es, ceph.RangeEntry(p))
		}
	}
	return es
}

// owns reports whether a client address belongs to the target.
func (t target) owns(a ceph.EntityAddr) bool {
	for _, p := range t.addrs {
		if p.Contains(a.IP) {
			return true
		}
	}
	return false
}

// resolveTarget finds the plug's addresses: a node of the hosts map, or
// (pcmk_host_map style) the plug is itself a list of addresses.
func (m hostMap) resolveTarget(plug string) (target, error) {
	if addrs, ok := m.addrs[plug]; ok {
		return target{name: plug, addrs: addrs}, nil
	}
	addrs, err := parseAddrList(plug)
	if err != nil {
		if len(m.names) == 0 {
			return target{}, fmt.Errorf("plug %q is not a list of addresses, and hosts names no node", agentlog.Clip(plug))
		}
		return target{}, fmt.Errorf("node %q is not in hosts%s, nor is it a list of addresses", agentlog.Clip(plug), m.known())
	}
	names := make([]string, len(addrs))
	for i, p := range addrs {
		names[i] = p.String()
	}
	sort.Strings(names)
	return target{name: strings.Join(names, ","), addrs: addrs}, nil
}

// known completes "not in hosts" for messages: the first few names.
func (m hostMap) known() string {
	if len(m.names) == 0 {
		return " (hosts is empty)"
	}
	names := m.names
	if len(names) > 8 {
		names = append(names[:8:8], "...")
	}
	return " (known: " + strings.Join(names, ", ") + ")"
}
