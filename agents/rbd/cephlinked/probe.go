package cephlinked

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/ceph"
)

// maxProbes bounds how many monitor addresses a failed connection dials: enough for every
// monitor of a real cluster, each with both messenger ports.
const maxProbes = 10

// probeMonitors dials every monitor address of monHost (names resolved) at once, each for
// at most timeout, and says what each did. librados reports a cluster it cannot reach only
// as a timeout; whether the address refused the connection, could not be routed to or
// stayed silent is what an operator needs to know. nil when monHost cannot be read.
func probeMonitors(ctx context.Context, monHost string, timeout time.Duration) []string {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resolved, err := ceph.ResolveMonHost(ctx, nil, monHost)
	if err != nil {
		return []string{"resolving mon_host: " + agentlog.Clip(err.Error())}
	}
	mons, err := ceph.ParseMonAddrs(resolved)
	if err != nil {
		return nil
	}
	var addrs []netip.AddrPort
	for _, m := range mons {
		for _, a := range []netip.AddrPort{m.V2, m.V1} {
			if a.IsValid() && !slices.Contains(addrs, a) && len(addrs) < maxProbes {
				addrs = append(addrs, a)
			}
		}
	}
	out := make([]string, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Go(func() {
			out[i] = a.String() + ": " + dial(ctx, a)
		})
	}
	wg.Wait()
	return out
}

// dial connects to addr and says how that went, in a few words.
func dial(ctx context.Context, addr netip.AddrPort) string {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr.String())
	if err == nil {
		conn.Close()
		return "accepts connections"
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "unreachable"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "no answer"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return agentlog.Clip(err.Error())
}
