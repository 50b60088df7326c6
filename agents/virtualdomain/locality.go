package virtualdomain

import (
	"net/netip"
	"net/url"
	"os"
	"strings"
)

// isLocalURI reports whether uri reaches a libvirtd on this host, whose
// qemu processes this host's /proc shows. Only then may the agent judge a
// domain by the process table when libvirtd does not answer: the qemu of a
// domain of qemu+tcp://otherhost/system runs on otherhost, and finding none
// here proves nothing. The test is strict on purpose (a local socket, a
// loopback or own address, "localhost", this host's exact name): calling a
// local libvirtd remote only costs the fallback, calling a remote one local
// could declare a running guest stopped.
func (v *vd) isLocalURI(uri string) bool {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return false
	}
	_, transport, _ := strings.Cut(u.Scheme, "+")
	host := u.Hostname()
	if host == "" {
		// No host is the unix transport (libvirt's rule: a host without a
		// transport means TLS, no host means the local socket).
		return transport == "" || transport == "unix"
	}
	switch strings.ToLower(host) {
	case "localhost", "localhost.localdomain":
		return true
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		if ip.IsLoopback() {
			return true
		}
		local, _ := v.localAddrSet()
		return local[ip]
	}
	name, err := os.Hostname()
	return err == nil && strings.EqualFold(strings.TrimSuffix(host, "."), name)
}

// localAddrSet is the set of this node's addresses (empty when unknown).
func (v *vd) localAddrSet() (map[netip.Addr]bool, error) {
	set := map[netip.Addr]bool{}
	ips, err := v.localAddrs()
	for _, ip := range ips {
		if a, ok := netip.AddrFromSlice(ip); ok {
			set[a.Unmap()] = true
		}
	}
	return set, err
}
