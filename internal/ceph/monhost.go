package ceph

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Resolver looks names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Limits on a mon_host value, far above any real cluster.
const (
	maxMonHostLen     = 4096
	maxMonHostEntries = 64
)

// monHostSeparators are those Ceph accepts between mon_host entries.
const monHostSeparators = ", ;\t\n"

// ResolveMonHost rewrites a mon_host value so that every DNS name is
// replaced by all the addresses it resolves to (A and AAAA), keeping the
// entry's type prefix and port. Entries that are addresses or address
// vectors ("[v2:…,v1:…]") are kept as written. A name that does not resolve
// is dropped as long as other entries remain; librados then tries every
// address left. The value is returned unchanged when it holds no name.
func ResolveMonHost(ctx context.Context, r Resolver, value string) (string, error) {
	entries, err := parseMonHost(value)
	if err != nil {
		return "", err
	}
	named := false
	for _, e := range entries {
		named = named || e.name != ""
	}
	if !named {
		return value, nil
	}
	if r == nil {
		r = net.DefaultResolver
	}
	var out []string
	var failures []error
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, e := range entries {
		if e.name == "" {
			add(e.raw)
			continue
		}
		ips, err := r.LookupNetIP(ctx, "ip", e.name)
		if err == nil && len(ips) == 0 {
			err = errors.New("no address")
		}
		if err != nil {
			failures = append(failures, fmt.Errorf("resolving %s: %w", e.name, err))
			continue
		}
		for _, ip := range ips {
			add(e.withIP(ip.Unmap().WithZone("")))
		}
	}
	if len(out) == 0 {
		return "", errors.Join(failures...)
	}
	return strings.Join(out, ","), nil
}

// CheckMonHost checks the syntax of a mon_host value without resolving
// anything.
func CheckMonHost(value string) error {
	_, err := parseMonHost(value)
	return err
}

// monHostEntry is one mon_host entry: raw text, and for a DNS name its
// name, type prefix and port.
type monHostEntry struct {
	raw, name, typ, port string
}

func (e monHostEntry) withIP(ip netip.Addr) string {
	host := ip.String()
	if ip.Is6() {
		host = "[" + host + "]"
	}
	if e.port != "" {
		host += ":" + e.port
	}
	if e.typ != "" {
		host = e.typ + ":" + host
	}
	return host
}

// SplitMonHost splits a mon_host value into its entries at the separators
// Ceph accepts, keeping address vectors ("[v2:…,v1:…]") and bracketed IPv6
// addresses whole. It checks nothing: CheckMonHost does.
func SplitMonHost(value string) []string {
	return splitTopLevel(value, monHostSeparators)
}

// parseMonHost splits and checks a mon_host value.
func parseMonHost(value string) ([]monHostEntry, error) {
	if len(value) > maxMonHostLen {
		return nil, fmt.Errorf("mon_host is longer than %d bytes", maxMonHostLen)
	}
	parts := SplitMonHost(value)
	if len(parts) == 0 {
		return nil, errors.New("mon_host is empty")
	}
	if len(parts) > maxMonHostEntries {
		return nil, fmt.Errorf("mon_host has more than %d entries", maxMonHostEntries)
	}
	entries := make([]monHostEntry, 0, len(parts))
	for _, p := range parts {
		e, err := parseMonHostEntry(p)
		if err != nil {
			return nil, fmt.Errorf("mon_host entry %q: %w", agentlog.Clip(p), err)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

func parseMonHostEntry(s string) (monHostEntry, error) {
	e := monHostEntry{raw: s}
	if strings.HasPrefix(s, "[") && !isBracketedIPPort(s) {
		_, err := ParseEntityAddrs(s) // an address vector: addresses only
		return e, err
	}
	rest := s
	for _, t := range addrTypes {
		if strings.HasPrefix(rest, t+":") {
			e.typ, rest = t, rest[len(t)+1:]
			break
		}
	}
	if strings.Contains(rest, "/") {
		_, err := ParseEntityAddr(s) // names never carry a nonce
		return e, err
	}
	host, port, err := splitHostPort(rest)
	if err != nil {
		return e, err
	}
	if port != "" {
		if _, err := parseDecimal(port, 16); err != nil {
			return e, fmt.Errorf("port: %w", err)
		}
	}
	if _, err := parseIP(host); err == nil {
		return e, nil
	}
	if !isDNSName(host) {
		return e, fmt.Errorf("%q is neither an IP address nor a host name", agentlog.Clip(host))
	}
	e.name, e.port = host, port
	return e, nil
}

// isBracketedIPPort reports whether s is "[ipv6]" or "[ipv6]:port".
func isBracketedIPPort(s string) bool {
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return false
	}
	_, err := netip.ParseAddr(s[1:end])
	return err == nil
}

// isDNSName checks the syntax of a host name (letters, digits, hyphens and
// dots; labels of 1-63 characters; at most 253 in all). A name whose last
// label is all digits is refused: no top-level domain is, and the C
// resolver reads such a name as an address in the old numeric forms ("0"
// is 0.0.0.0, "2130706433" and "127.1" are 127.0.0.1, "10.0.0.300" fails).
func isDNSName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	if strings.Trim(last, "0123456789") == "" {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
