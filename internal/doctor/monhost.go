package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"

	"github.com/kvmha/kvmha/internal/ceph"
)

// monProbe is what became of one mon_host entry: the addresses its name
// resolved to (an address entry is its own), and the answer of each
// monitor address to a TCP connection.
type monProbe struct {
	entry      string
	resolveErr error
	addrs      []addrProbe
}

// addrProbe is one monitor address and how it answered.
type addrProbe struct {
	addr netip.AddrPort
	// want is the protocol mon_host gives the address ("v2", "v1"); an
	// untyped address on another port than 3300 comes as "v1", but clients
	// try both protocols there, so either answer is fine for it.
	want  string
	typed bool
	// got is the protocol of the banner the monitor sent ("v2", "v1"),
	// "" when none came; err why the probe failed.
	got string
	err error
}

func (p addrProbe) String() string {
	return fmt.Sprintf("%s (%s)", p.addr, p.want)
}

// ok says whether the address answered as a Ceph monitor of the protocol
// mon_host promises.
func (p addrProbe) ok() bool {
	return p.err == nil && (p.got == p.want || !p.typed)
}

// dialTimeout bounds one probe: a monitor on a LAN answers a TCP SYN in
// well under a millisecond, so a second of silence means it is down or
// filtered.
const dialTimeout = 1500 * time.Millisecond

// monitors probes every monitor address once per run (shared by ceph-mon
// and the Ceph session, which is not attempted when no monitor answers).
func (d *Doctor) monitors(ctx context.Context) ([]monProbe, error) {
	return d.mons.get(ctx, d.base, d.probeMonitors)
}

func (d *Doctor) probeMonitors(ctx context.Context) ([]monProbe, error) {
	monHost, err := d.MonHost(d.Ceph)
	if err != nil {
		return nil, err
	}
	entries := ceph.SplitMonHost(monHost)
	if len(entries) == 0 {
		return nil, fmt.Errorf("%s names no monitor (mon_host is empty)", d.confName())
	}
	probes := make([]monProbe, len(entries))
	var wg sync.WaitGroup
	for i, e := range entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			probes[i] = d.probeEntry(ctx, e)
		}()
	}
	wg.Wait()
	return probes, nil
}

// probeEntry resolves one mon_host entry (every A and AAAA record of a
// name) and connects to each address.
func (d *Doctor) probeEntry(ctx context.Context, entry string) monProbe {
	p := monProbe{entry: entry}
	resolved, err := ceph.ResolveMonHost(ctx, d.Resolver, entry)
	if err != nil {
		p.resolveErr = err
		return p
	}
	mons, err := ceph.ParseMonAddrs(resolved)
	if err != nil {
		p.resolveErr = err
		return p
	}
	typed := strings.Contains(entry, "v1:") || strings.Contains(entry, "v2:") || strings.Contains(entry, "[v")
	for _, m := range mons {
		if m.V2.IsValid() {
			p.addrs = append(p.addrs, addrProbe{addr: m.V2, want: "v2", typed: typed || m.V2.Port() == 3300})
		}
		if m.V1.IsValid() {
			p.addrs = append(p.addrs, addrProbe{addr: m.V1, want: "v1", typed: typed || m.V1.Port() == 6789})
		}
	}
	var wg sync.WaitGroup
	for i := range p.addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.addrs[i].got, p.addrs[i].err = d.probeAddr(ctx, p.addrs[i].addr)
		}()
	}
	wg.Wait()
	return p
}

// The banners a monitor sends as soon as it accepts a connection.
const (
	bannerV2 = "ceph v2\n"
	bannerV1 = "ceph v02" // "ceph v027": the first 8 bytes tell them apart
)

// probeAddr connects and reads the monitor's banner.
func (d *Doctor) probeAddr(ctx context.Context, addr netip.AddrPort) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	conn, err := d.DialTCP(ctx, "tcp", addr.String())
	if err != nil {
		return "", dialError(err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(dl)
	}
	buf := make([]byte, len(bannerV2))
	if _, err := io.ReadFull(conn, buf); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return "", errors.New("accepts connections but sends no Ceph banner")
		}
		return "", fmt.Errorf("accepts connections but sends no Ceph banner (%v)", dialError(err))
	}
	switch string(buf) {
	case bannerV2:
		return "v2", nil
	case bannerV1:
		return "v1", nil
	}
	return "", fmt.Errorf("answers, but not as a Ceph monitor (banner %q)", agentlog.Clip(string(buf)))
}

// dialError says in a few words why a connection failed.
func dialError(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("connection refused")
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return errors.New("no route to host")
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errors.New("no answer (host down or port filtered)")
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return errors.New("connection closed at once")
	}
	return err
}

// confName names where mon_host came from, for messages.
func (d *Doctor) confName() string {
	if len(d.Ceph.MonHosts) > 0 {
		return "--mon-host"
	}
	return d.Ceph.ConfPath
}
