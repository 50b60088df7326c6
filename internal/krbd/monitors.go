package krbd

import (
	"errors"
	"net/netip"
	"strings"
)

// Monitor is one Ceph monitor's addresses as the client configuration
// names them. A monitor speaks msgr2 (port 3300 by default) and usually
// msgr1 (6789) too; either may be unknown.
type Monitor struct {
	Msgr1, Msgr2 netip.AddrPort
}

// msgr2Modes are the values of the kernel's ms_mode option (Linux 5.11+).
// "legacy" is msgr1, every other mode msgr2.
var msgr2Modes = map[string]bool{"legacy": false, "crc": true, "secure": true, "prefer-crc": true, "prefer-secure": true}

// defaultMsgr2Mode is added when the monitors offer no msgr1 address.
const defaultMsgr2Mode = "prefer-crc"

// KernelMonitors returns the monitor list of a map request and the ms_mode
// option to add (or ""). The kernel speaks one protocol to every monitor:
// msgr1 unless the options set ms_mode to an msgr2 mode. Without ms_mode
// the msgr1 addresses are used; when the monitors have none, the msgr2
// ones with ms_mode=prefer-crc. The kernel takes no address vectors and no
// type prefixes: only "ip:port" joined by commas, IPv6 in brackets.
func KernelMonitors(mons []Monitor, options []string) (list, addMode string, err error) {
	mode, modeSet := "", false
	for _, o := range options {
		if v, ok := strings.CutPrefix(o, "ms_mode="); ok {
			mode, modeSet = v, true
		}
	}
	if modeSet {
		if _, known := msgr2Modes[mode]; !known {
			return "", "", errors.New("ms_mode must be legacy, crc, secure, prefer-crc or prefer-secure")
		}
	}
	pick := func(v2 bool) []string {
		var out []string
		seen := map[netip.AddrPort]bool{}
		for _, m := range mons {
			a := m.Msgr1
			if v2 {
				a = m.Msgr2
			}
			if a.IsValid() && !seen[a] {
				seen[a] = true
				out = append(out, a.String())
			}
		}
		return out
	}
	var addrs []string
	switch {
	case modeSet:
		addrs = pick(msgr2Modes[mode])
	default:
		if addrs = pick(false); len(addrs) == 0 {
			addrs, addMode = pick(true), defaultMsgr2Mode
		}
	}
	if len(addrs) == 0 {
		if modeSet {
			return "", "", errors.New("no monitor address for the messenger protocol ms_mode=" + mode + " selects")
		}
		return "", "", errors.New("no monitor addresses")
	}
	return strings.Join(addrs, ","), addMode, nil
}
