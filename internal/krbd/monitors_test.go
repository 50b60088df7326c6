package krbd

import (
	"net/netip"
	"testing"
)

func TestKernelMonitors(t *testing.T) {
	ap := netip.MustParseAddrPort
	both := []Monitor{
		{Msgr1: ap("10.0.0.1:6789"), Msgr2: ap("10.0.0.1:3300")},
		{Msgr1: ap("[fd00::2]:6789"), Msgr2: ap("[fd00::2]:3300")},
		{Msgr1: ap("10.0.0.1:6789")}, // duplicate msgr1
	}
	v2only := []Monitor{{Msgr2: ap("10.0.0.1:3300")}}
	for _, c := range []struct {
		name     string
		mons     []Monitor
		opts     []string
		list     string
		addMode  string
		hasError bool
	}{
		{"msgr1 by default", both, nil, "10.0.0.1:6789,[fd00::2]:6789", "", false},
		{"msgr2 when asked", both, []string{"ms_mode=secure"}, "10.0.0.1:3300,[fd00::2]:3300", "", false},
		{"legacy is msgr1", both, []string{"ms_mode=legacy"}, "10.0.0.1:6789,[fd00::2]:6789", "", false},
		{"msgr2 only adds a mode", v2only, nil, "10.0.0.1:3300", "prefer-crc", false},
		{"legacy without msgr1", v2only, []string{"ms_mode=legacy"}, "", "", true},
		{"bad mode", both, []string{"ms_mode=fast"}, "", "", true},
		{"none", nil, nil, "", "", true},
	} {
		list, mode, err := KernelMonitors(c.mons, c.opts)
		if list != c.list || mode != c.addMode || (err != nil) != c.hasError {
			t.Errorf("%s: %q %q %v", c.name, list, mode, err)
		}
	}
}
