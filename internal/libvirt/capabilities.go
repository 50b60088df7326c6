package libvirt

import (
	"context"
	"fmt"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// Versions returns the versions of libvirtd and of its hypervisor (for the
// qemu driver, the default emulator's), as "9.0.0".
func (c *Conn) Versions(ctx context.Context) (daemon, hypervisor string, err error) {
	type pair struct{ lib, hv uint64 }
	p, err := call(ctx, c, "versions", func() (pair, error) {
		lib, err := c.rpc.ConnectGetLibVersion()
		if err != nil {
			return pair{}, err
		}
		hv, err := c.rpc.ConnectGetVersion()
		return pair{lib, hv}, err
	})
	if err != nil {
		return "", "", err
	}
	return versionString(p.lib), versionString(p.hv), nil
}

// versionString prints libvirt's major*1000000 + minor*1000 + micro.
func versionString(v uint64) string {
	return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
}

// DomainCapabilities returns the domain capabilities XML of the emulator,
// architecture, machine and virtualization type libvirtd picks by default
// (the host's architecture, kvm when it can): among others the emulator's
// path in <path>.
func (c *Conn) DomainCapabilities(ctx context.Context) (string, error) {
	return call(ctx, c, "domain capabilities", func() (string, error) {
		return c.rpc.ConnectGetDomainCapabilities(golibvirt.OptString{}, golibvirt.OptString{}, golibvirt.OptString{}, golibvirt.OptString{}, 0)
	})
}
