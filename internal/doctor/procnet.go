package doctor

import (
	"encoding/hex"
	"net/netip"
	"os"
	"path"
	"strconv"
	"strings"
)

// listener is a listening TCP socket from /proc/net/tcp or tcp6.
type listener struct {
	addr  netip.AddrPort
	inode uint64 // 0 for sockets without one
}

// tcpListen is the state column of a listening socket.
const tcpListen = "0A"

// parseProcNetTCP reads /proc/net/tcp or /proc/net/tcp6 and returns the
// listening sockets. Addresses are hex: the IPv4 address as the host's
// (little-endian) 32-bit word, IPv6 as four such words; the port is
// big-endian hex. Malformed lines are skipped.
func parseProcNetTCP(text string) []listener {
	var out []listener
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode
		if len(f) < 10 || f[3] != tcpListen {
			continue
		}
		host, port, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(port, 16, 16)
		if err != nil {
			continue
		}
		ip, ok := parseProcIP(host)
		if !ok {
			continue
		}
		inode, _ := strconv.ParseUint(f[9], 10, 64)
		out = append(out, listener{addr: netip.AddrPortFrom(ip, uint16(p)), inode: inode})
	}
	return out
}

// parseProcIP decodes the kernel's hex form of an address: 32-bit words
// in the host's byte order (little-endian on the architectures kvmha runs
// on).
func parseProcIP(s string) (netip.Addr, bool) {
	b, err := hex.DecodeString(s)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return netip.Addr{}, false
	}
	for w := 0; w < len(b); w += 4 {
		b[w], b[w+1], b[w+2], b[w+3] = b[w+3], b[w+2], b[w+1], b[w]
	}
	ip, _ := netip.AddrFromSlice(b)
	return ip.Unmap(), true
}

// listeners returns the host's listening TCP sockets on port.
func (r Root) listeners(port uint16) []listener {
	var out []listener
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := r.read(f)
		if err != nil {
			continue
		}
		for _, l := range parseProcNetTCP(string(data)) {
			if l.addr.Port() == port {
				out = append(out, l)
			}
		}
	}
	return out
}

// socketOwner finds a process that has the socket open: its pid and
// command name ("" when no process has: a kernel socket, or one of a
// process we may not look into).
func (r Root) socketOwner(inode uint64) (pid int, comm string) {
	if inode == 0 {
		return 0, ""
	}
	want := "socket:[" + strconv.FormatUint(inode, 10) + "]"
	procs, err := os.ReadDir(r.path("/proc"))
	if err != nil {
		return 0, ""
	}
	for _, p := range procs {
		n, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fdDir := path.Join("/proc", p.Name(), "fd")
		fds, err := os.ReadDir(r.path(fdDir))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if target, err := os.Readlink(r.path(path.Join(fdDir, fd.Name()))); err == nil && target == want {
				c, _ := r.readLine(path.Join("/proc", p.Name(), "comm"))
				return n, c
			}
		}
	}
	return 0, ""
}
