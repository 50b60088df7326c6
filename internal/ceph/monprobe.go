package ceph

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kvmha/kvmha/internal/deadline"
)

// librados reports a cluster it cannot reach only as a timeout, after
// hunting for monitors until client_mount_timeout: whether an address
// refused the connection, could not be routed to or stayed silent is lost,
// and so are the addresses. A TCP connect to every monitor address, all at
// once and briefly, answers both questions in milliseconds. It decides
// nothing on its own: when one address accepts, librados connects as
// always and remains the judge of the session.

// Bounds of the monitor probe Connect runs.
const (
	// maxMonProbeWait bounds each dial; a monitor on a working network
	// accepts within milliseconds, and a lost SYN is resent after 1 s.
	maxMonProbeWait = 1500 * time.Millisecond
	// minMonProbeWait keeps a nearly spent context from failing every dial.
	minMonProbeWait = 50 * time.Millisecond
	// maxMonProbeAddrs bounds the dials of one probe: mon_host holds at
	// most maxMonHostEntries entries of two addresses each.
	maxMonProbeAddrs = 2 * maxMonHostEntries
	// maxListedProbes is how many failed addresses an error names.
	maxListedProbes = 8
)

// MonProbe is what a TCP connect to one monitor address showed.
type MonProbe struct {
	Addr netip.AddrPort
	// Proto is "v2" or "v1", the messenger protocol the address is for.
	Proto string
	// Err is nil when the address accepted the connection.
	Err error
}

// Cause says in a few words how the connect went: "accepts connections",
// "connection refused", "no route to host", "network unreachable", "no
// answer within 1.5s", or the system's error.
func (p MonProbe) Cause() string {
	err := p.Err
	switch {
	case err == nil:
		return "accepts connections"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to host"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local address to reach it from"
	}
	var te *probeTimeout
	if errors.As(err, &te) {
		return fmt.Sprintf("no answer within %s", te.wait)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

func (p MonProbe) String() string {
	return fmt.Sprintf("%s (%s): %s", p.Addr, p.Proto, p.Cause())
}

// probeTimeout is the error of a dial that got no answer within wait.
type probeTimeout struct{ wait time.Duration }

func (e *probeTimeout) Error() string { return fmt.Sprintf("no answer within %s", e.wait) }

// MonitorsUnreachableError is Connect's error when no monitor address
// accepted a connection; librados was not asked to connect.
type MonitorsUnreachableError struct {
	Probes []MonProbe
}

func (e *MonitorsUnreachableError) Error() string {
	list := make([]string, 0, maxListedProbes+1)
	for i, p := range e.Probes {
		if i == maxListedProbes {
			list = append(list, fmt.Sprintf("and %d more", len(e.Probes)-i))
			break
		}
		list = append(list, p.String())
	}
	return "ceph: no monitor accepts connections: " + strings.Join(list, "; ")
}

// dialFunc opens a TCP connection; tests replace monDial.
type dialFunc func(ctx context.Context, network, address string) (net.Conn, error)

var monDial dialFunc = (&net.Dialer{}).DialContext

// ProbeMonitors dials every msgr2 and msgr1 address of mons at once, each
// for at most wait (and not past ctx), and returns what each did, msgr2
// addresses first, each address once.
func ProbeMonitors(ctx context.Context, mons []MonAddrs, wait time.Duration) []MonProbe {
	var probes []MonProbe
	for _, m := range mons {
		for _, p := range []MonProbe{{Addr: m.V2, Proto: "v2"}, {Addr: m.V1, Proto: "v1"}} {
			if !p.Addr.IsValid() || len(probes) == maxMonProbeAddrs ||
				slices.ContainsFunc(probes, func(q MonProbe) bool { return q.Addr == p.Addr }) {
				continue
			}
			probes = append(probes, p)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var wg sync.WaitGroup
	for i := range probes {
		wg.Go(func() {
			probes[i].Err = dialOnce(ctx, probes[i].Addr, wait)
		})
	}
	wg.Wait()
	return probes
}

func dialOnce(ctx context.Context, addr netip.AddrPort, wait time.Duration) error {
	conn, err := monDial(ctx, "tcp", addr.String())
	if err == nil {
		conn.Close()
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return &probeTimeout{wait: wait}
	}
	return err
}

// monProbeWait is how long each dial of Connect's probe may take: at most
// maxMonProbeWait and a quarter of the time ctx leaves, so that librados
// keeps most of it.
func monProbeWait(ctx context.Context) time.Duration {
	wait := maxMonProbeWait
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d)/4)
	}
	return max(wait, minMonProbeWait)
}

// probeMonHost runs Connect's probe on the session's mon_host (names
// already resolved). It returns the probes, and an error when none
// accepted. A mon_host this package cannot read, or none (librados then
// looks for DNS SRV records), is not probed: librados decides.
func (c *Conn) probeMonHost(ctx context.Context, patience time.Duration) ([]MonProbe, error) {
	monHost, err := c.rados.GetConfigOption("mon_host")
	if err != nil || strings.TrimSpace(monHost) == "" {
		return nil, nil
	}
	mons, err := ParseMonAddrs(monHost)
	if err != nil || len(mons) == 0 {
		return nil, nil
	}
	// A monitor that refuses or does not answer may be restarting (a mon restart takes a
	// second or two): probe again for a while, as librados would keep hunting. A network
	// this host cannot route to is not coming back in that time: fail at once.
	patient := time.Now().Add(monProbePatience(ctx, patience))
	for {
		probes := ProbeMonitors(ctx, mons, monProbeWait(ctx))
		if len(probes) == 0 || slices.ContainsFunc(probes, func(p MonProbe) bool { return p.Err == nil }) {
			return probes, nil
		}
		if time.Now().After(patient) || !slices.ContainsFunc(probes, mayRecover) || deadline.Sleep(ctx, monProbeRetry) != nil {
			return probes, &MonitorsUnreachableError{Probes: probes}
		}
	}
}

// Retrying the monitor probe.
const (
	monProbeRetry       = 250 * time.Millisecond
	maxMonProbePatience = 10 * time.Second
)

// monProbePatience is how long Connect keeps probing monitors that refuse or do not
// answer: what Config.ProbePatience asks (maxMonProbePatience when 0, none when
// negative), and at most half the time ctx leaves, so that librados and the caller keep
// the rest.
func monProbePatience(ctx context.Context, asked time.Duration) time.Duration {
	p := maxMonProbePatience
	switch {
	case asked < 0:
		return 0
	case asked > 0:
		p = asked
	}
	if d, ok := ctx.Deadline(); ok {
		p = min(p, time.Until(d)/2)
	}
	return p
}

// mayRecover: the address refused or did not answer, which a restarting monitor does;
// "no route" and "network unreachable" are this host's network, not the monitor.
func mayRecover(p MonProbe) bool {
	return !errors.Is(p.Err, syscall.ENETUNREACH) && !errors.Is(p.Err, syscall.EHOSTUNREACH) &&
		!errors.Is(p.Err, syscall.EADDRNOTAVAIL)
}

// accepting lists the probed addresses that accepted, for the message of a
// connect that timed out all the same.
func accepting(probes []MonProbe) string {
	var out []string
	for _, p := range probes {
		if p.Err == nil {
			out = append(out, p.Addr.String())
		}
	}
	return strings.Join(out, ", ")
}
