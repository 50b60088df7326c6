package libvirt

import (
	"encoding/binary"
	"strings"
	"testing"
)

// Procedure numbers of the calls Versions and DomainCapabilities make.
const (
	procConnectGetVersion            = 4
	procConnectGetLibVersion         = 157
	procConnectGetDomainCapabilities = 342
)

func xdrUint64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func TestVersionsAndDomainCapabilities(t *testing.T) {
	caps := "<domainCapabilities><path>/usr/bin/qemu-system-x86_64</path><domain>kvm</domain></domainCapabilities>"
	d := newFakeDaemon(t, map[uint32]reply{
		procConnectGetLibVersion:         {payload: xdrUint64(9000000)},
		procConnectGetVersion:            {payload: xdrUint64(7002022)},
		procConnectGetDomainCapabilities: {payload: xdrString(caps)},
	})
	ctx, c := d.dial()
	lib, hv, err := c.Versions(ctx)
	if err != nil || lib != "9.0.0" || hv != "7.2.22" {
		t.Fatalf("versions %q %q %v", lib, hv, err)
	}
	got, err := c.DomainCapabilities(ctx)
	if err != nil || !strings.Contains(got, "<path>/usr/bin/qemu-system-x86_64</path>") {
		t.Fatalf("domain capabilities %q %v", got, err)
	}
}
