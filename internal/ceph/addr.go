package ceph

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// EntityAddr is a Ceph entity address (entity_addr_t as Ceph prints it):
// [type:]ip:port/nonce, e.g. "v1:10.0.0.1:6789/0", "10.0.0.2:0/3282" or
// "[fd00::1]:0/17". A client's address has port 0 and a per-session nonce;
// port 0 with nonce 0 names every client of that IP in a blocklist.
type EntityAddr struct {
	// Type is the messenger protocol prefix ("v1", "v2", "any") or "" when
	// the text had none. Blocklists ignore it, and so does Equal.
	Type  string
	IP    netip.Addr
	Port  uint16
	Nonce uint32
}

// maxAddrLen bounds the text a parser looks at; the longest real address
// (an IPv6 with type, port and nonce) is well under 80 bytes.
const maxAddrLen = 128

var addrTypes = []string{"v1", "v2", "any"}

// ParseEntityAddr parses one entity address. It accepts an optional type
// prefix, an IPv4 address or a bracketed IPv6 address (a bare IPv6 address
// only without port and nonce), an optional :port and an optional /nonce.
func ParseEntityAddr(s string) (EntityAddr, error) {
	a, err := parseEntityAddr(s)
	if err != nil {
		return EntityAddr{}, fmt.Errorf("bad entity address %q: %w", agentlog.Clip(s), err)
	}
	return a, nil
}

func parseEntityAddr(s string) (EntityAddr, error) {
	var a EntityAddr
	if len(s) > maxAddrLen {
		return a, errors.New("too long")
	}
	rest := s
	for _, t := range addrTypes {
		if strings.HasPrefix(rest, t+":") {
			a.Type, rest = t, rest[len(t)+1:]
			break
		}
	}
	if host, nonce, ok := strings.Cut(rest, "/"); ok {
		n, err := parseDecimal(nonce, 32)
		if err != nil {
			return a, fmt.Errorf("nonce: %w", err)
		}
		a.Nonce, rest = uint32(n), host
	}
	host, port, err := splitHostPort(rest)
	if err != nil {
		return a, err
	}
	if a.IP, err = parseIP(host); err != nil {
		return a, err
	}
	if port != "" {
		p, err := parseDecimal(port, 16)
		if err != nil {
			return a, fmt.Errorf("port: %w", err)
		}
		a.Port = uint16(p)
	}
	return a, nil
}

// splitHostPort separates "ip", "ip:port", "[ip6]", "[ip6]:port" and a bare
// IPv6 address (which then has no port).
func splitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", errors.New("missing ]")
		}
		host, rest := s[1:end], s[end+1:]
		if rest == "" {
			return host, "", nil
		}
		if !strings.HasPrefix(rest, ":") || rest == ":" {
			return "", "", errors.New("expected :port after ]")
		}
		return host, rest[1:], nil
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", nil
	case 1:
		host, port, _ = strings.Cut(s, ":")
		if port == "" {
			return "", "", errors.New("empty port")
		}
		return host, port, nil
	}
	return s, "", nil // a bare IPv6 address; parseIP decides
}

// parseIP accepts IPv4 and IPv6 addresses without zone.
func parseIP(s string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", agentlog.Clip(s))
	}
	if ip.Zone() != "" {
		return netip.Addr{}, errors.New("IPv6 zones are not supported")
	}
	return ip, nil
}

// parseDecimal parses an unsigned decimal number of at most bits bits;
// unlike strconv it refuses signs and empty text.
func parseDecimal(s string, bits int) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", agentlog.Clip(s))
		}
	}
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", agentlog.Clip(s))
	}
	return n, nil
}

// String prints the address the way Ceph does, type prefix included when set.
func (a EntityAddr) String() string {
	var b strings.Builder
	if a.Type != "" {
		b.WriteString(a.Type)
		b.WriteByte(':')
	}
	b.WriteString(netip.AddrPortFrom(a.IP, a.Port).String())
	b.WriteByte('/')
	b.WriteString(strconv.FormatUint(uint64(a.Nonce), 10))
	return b.String()
}

// Equal compares IP, port and nonce; the type prefix does not matter (Ceph
// compares blocklist entries with the type set to "any").
func (a EntityAddr) Equal(b EntityAddr) bool {
	return a.IP == b.IP && a.Port == b.Port && a.Nonce == b.Nonce
}

// Host returns the address that stands for every client of a's IP: port 0,
// nonce 0, no type.
func (a EntityAddr) Host() EntityAddr { return EntityAddr{IP: a.IP} }

// IsHost reports whether a names a whole IP (port 0 and nonce 0).
func (a EntityAddr) IsHost() bool { return a.Port == 0 && a.Nonce == 0 }

// ParseEntityAddrs parses an address vector "[v2:…,v1:…]" (what
// rados_getaddrs may return) or a single address.
func ParseEntityAddrs(s string) ([]EntityAddr, error) {
	if len(s) > 4*maxAddrLen {
		return nil, fmt.Errorf("bad address vector %q: too long", agentlog.Clip(s))
	}
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") || isBracketedIP(s) {
		a, err := ParseEntityAddr(s)
		if err != nil {
			return nil, err
		}
		return []EntityAddr{a}, nil
	}
	var addrs []EntityAddr
	for _, part := range splitTopLevel(s[1:len(s)-1], ",") {
		a, err := ParseEntityAddr(part)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("bad address vector %q: empty", agentlog.Clip(s))
	}
	return addrs, nil
}

// isBracketedIP reports whether s is "[ipv6]" alone (no vector).
func isBracketedIP(s string) bool {
	_, err := netip.ParseAddr(s[1 : len(s)-1])
	return err == nil
}

// splitTopLevel splits s at any of seps outside square brackets and drops
// empty parts.
func splitTopLevel(s, seps string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '[':
			depth++
		case c == ']':
			if depth > 0 {
				depth--
			}
		case depth == 0 && strings.IndexByte(seps, c) >= 0:
			if i > start {
				parts = append(parts, s[start:i])
			}
			start = i + 1
		}
	}
	if start < len(s) {
		parts = append(parts, s[start:])
	}
	return parts
}
