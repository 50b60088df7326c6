package ceph

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// ConfigOption returns one option of the session's configuration as
// librados sees it, metavariables expanded ("keyring" reads
// "/etc/ceph/ceph.client.admin.keyring,..."). It is meant for paths and
// addresses: do not ask it for "key".
func (c *Conn) ConfigOption(name string) (string, error) {
	if name == "key" {
		return "", fmt.Errorf("ceph: the key is not read through this package")
	}
	v, err := c.rados.GetConfigOption(name)
	if err != nil {
		return "", fmt.Errorf("ceph: config option %s: %w", name, err)
	}
	return v, nil
}

// KeyringPaths is the keyring search list of the session ("keyring"
// split at commas, empty entries dropped): where librados looked for the
// user's key when Config.Keyring was empty.
func (c *Conn) KeyringPaths() ([]string, error) {
	v, err := c.ConfigOption("keyring")
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// MonAddrs is one monitor of the session's mon_host with the address it
// has for each messenger protocol (invalid when unknown).
type MonAddrs struct {
	V1, V2 netip.AddrPort
}

// The monitors' default ports.
const (
	monPortV1 = 6789
	monPortV2 = 3300
)

// MonitorAddrs reads the session's mon_host (names already resolved by
// Connect) and returns each monitor's msgr1 and msgr2 addresses. An address
// vector gives both; a typed address one; an untyped address with port 3300
// is msgr2, with another port msgr1 (a client tries such ports with both
// protocols; an msgr1-only client, like the kernel's by default, can only
// use them as msgr1); an address without port means both default ports.
func (c *Conn) MonitorAddrs() ([]MonAddrs, error) {
	v, err := c.ConfigOption("mon_host")
	if err != nil {
		return nil, err
	}
	return ParseMonAddrs(v)
}

// ParseMonAddrs is MonitorAddrs for a mon_host value without names.
func ParseMonAddrs(monHost string) ([]MonAddrs, error) {
	entries, err := parseMonHost(monHost)
	if err != nil {
		return nil, err
	}
	var out []MonAddrs
	for _, e := range entries {
		if e.name != "" {
			return nil, fmt.Errorf("mon_host entry %q is a name: resolve it first", agentlog.Clip(e.raw))
		}
		var m MonAddrs
		addrs, err := ParseEntityAddrs(e.raw)
		if err != nil {
			return nil, fmt.Errorf("mon_host entry %q: %w", agentlog.Clip(e.raw), err)
		}
		for _, a := range addrs {
			switch {
			case a.Type == "v1":
				m.V1 = addrPort(a, monPortV1)
			case a.Type == "v2":
				m.V2 = addrPort(a, monPortV2)
			case a.Port == 0:
				m.V1, m.V2 = addrPort(a, monPortV1), addrPort(a, monPortV2)
			case a.Port == monPortV2:
				m.V2 = addrPort(a, monPortV2)
			default:
				m.V1 = addrPort(a, monPortV1)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

func addrPort(a EntityAddr, defPort uint16) netip.AddrPort {
	port := a.Port
	if port == 0 {
		port = defPort
	}
	return netip.AddrPortFrom(a.IP, port)
}
