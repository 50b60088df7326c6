package doctor

import (
	"context"
	"encoding/xml"
	"fmt"
)

// Libvirt is what the checks ask libvirtd (an *libvirt.Conn through
// DialLibvirt; fakes in tests).
type Libvirt interface {
	Versions(ctx context.Context) (daemon, hypervisor string, err error)
	DomainCapabilities(ctx context.Context) (string, error)
	Close() error
}

// LibvirtDialer connects to the libvirtd of a URI.
type LibvirtDialer func(ctx context.Context, uri string) (Libvirt, error)

// libvirtInfo is libvirtd's answer: its version and the qemu it runs
// guests with (from the domain capabilities of its default emulator).
type libvirtInfo struct {
	daemon, hypervisor string
	domCaps
}

// domCaps is the part of <domainCapabilities> the checks use.
type domCaps struct {
	Emulator string `xml:"path"`
	Domain   string `xml:"domain"` // kvm or qemu (TCG)
	Machine  string `xml:"machine"`
	Arch     string `xml:"arch"`
}

// parseDomCaps reads libvirt's domain capabilities XML.
func parseDomCaps(text string) (domCaps, error) {
	var c domCaps
	if err := xml.Unmarshal([]byte(text), &c); err != nil {
		return c, fmt.Errorf("domain capabilities: %v", err)
	}
	if c.Emulator == "" {
		return c, fmt.Errorf("domain capabilities name no emulator")
	}
	return c, nil
}

// libvirt asks libvirtd once per run.
func (d *Doctor) libvirt(ctx context.Context) (libvirtInfo, error) {
	return d.virt.get(ctx, d.base, func(ctx context.Context) (libvirtInfo, error) {
		conn, err := d.DialLibvirt(ctx, d.LibvirtURI)
		if err != nil {
			return libvirtInfo{}, err
		}
		defer conn.Close()
		var info libvirtInfo
		if info.daemon, info.hypervisor, err = conn.Versions(ctx); err != nil {
			return info, err
		}
		text, err := conn.DomainCapabilities(ctx)
		if err != nil {
			return info, err
		}
		info.domCaps, err = parseDomCaps(text)
		return info, err
	})
}

func (d *Doctor) libvirtFix() string {
	return fmt.Sprintf("start libvirtd (systemctl start libvirtd), or give the URI of the one that runs the guests (--libvirt-uri, now %s)", d.LibvirtURI)
}

// checkLibvirt: libvirtd answers and names its qemu; KVM is there.
func (d *Doctor) checkLibvirt(ctx context.Context) Result {
	info, err := d.libvirt(ctx)
	if err != nil {
		return fail(d.libvirtFix(), "libvirtd at %s: %v", d.LibvirtURI, err)
	}
	found := fmt.Sprintf("libvirt %s at %s runs %s (qemu %s, %s, %s, %s)", info.daemon, d.LibvirtURI,
		info.Emulator, info.hypervisor, info.Domain, info.Arch, info.Machine)
	if info.Domain != "kvm" {
		return warn("load kvm_intel or kvm_amd and check that /dev/kvm exists (virtualization enabled in the firmware)",
			"%s: no KVM, guests would be emulated (TCG)", found)
	}
	return pass("%s", found)
}
