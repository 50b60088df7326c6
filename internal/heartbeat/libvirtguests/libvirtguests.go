// Package libvirtguests lists a host's running guests, their disks and
// block I/O counters for its heartbeat record over go-libvirt (package
// internal/libvirt): one stats call per beat, on one connection kept between
// beats and dialled again after a failure. A guest's disks come from its
// XML, read when the guest is first seen, when its disks change (the stats
// name them), and every refreshEvery beats; package guestdisks resolves them
// to what other hosts can compare (links followed, block devices' stable
// ids, pool volumes).
package libvirtguests

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kvmha/kvmha/internal/deadline"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/guestdisks"
	"github.com/kvmha/kvmha/internal/libvirt"
)

// conn is what Source asks of libvirtd; *libvirt.Conn has it.
type conn interface {
	ActiveDiskStats(ctx context.Context) ([]libvirt.DomainDisks, error)
	DomainXML(ctx context.Context, d libvirt.Domain, inactive, secure bool) (string, error)
	StoragePoolXML(ctx context.Context, name string) (string, error)
	Close() error
}

// How often a guest's XML is read again though its disks did not change,
// and again after a read or a resolution failed, in beats.
const (
	refreshEvery = 60
	retryEvery   = 5
)

// Source is a heartbeat.GuestSource over the libvirtd at URI.
type Source struct {
	URI string
	// Resolver completes the disks; nil: this host's /sys and /dev. Its
	// Pool is set to the connection's storage pools.
	Resolver *guestdisks.Resolver
	// dial connects (libvirt.Dial when nil; tests give a fake).
	dial func(ctx context.Context, uri string) (conn, error)

	mu    sync.Mutex
	conn  conn
	beat  int
	known map[string]*guestDisks // by UUID
}

// guestDisks is what was last found of one guest's disks.
type guestDisks struct {
	sig   string // the disks' names and paths in the stats then
	disks []heartbeat.Disk
	ok    bool // the XML was read and every disk resolved
	at    int  // the beat it was read at
}

// ListsDisks: the guests this source lists carry their disks
// (heartbeat.Record.GuestDisks).
func (s *Source) ListsDisks() bool { return true }

// Guests lists the running (active) domains with their disks and block I/O
// counters. A guest whose XML could not be read in time is listed with the
// disks found before, marked DisksIncomplete when there were none.
func (s *Source) Guests(ctx context.Context) ([]heartbeat.Guest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		dial := s.dial
		if dial == nil {
			dial = func(ctx context.Context, uri string) (conn, error) {
				c, err := libvirt.Dial(ctx, uri)
				if err != nil {
					return nil, err
				}
				return c, nil
			}
		}
		c, err := dial(ctx, s.URI)
		if err != nil {
			return nil, err
		}
		s.conn = c
	}
	stats, err := s.conn.ActiveDiskStats(ctx)
	if err != nil {
		s.conn.Close()
		s.conn = nil
		return nil, err
	}
	s.beat++
	if s.known == nil {
		s.known = map[string]*guestDisks{}
	}
	// XML reads stop when half the time is gone: a read abandoned on its
	// deadline closes the connection.
	budget := deadline.Remaining(ctx)
	seen := map[string]bool{}
	out := make([]heartbeat.Guest, 0, len(stats))
	for _, st := range stats {
		uuid := st.Domain.UUID
		seen[uuid] = true
		g := heartbeat.Guest{Name: st.Domain.Name, UUID: uuid, IO: &heartbeat.GuestIO{}}
		for _, d := range st.Disks {
			g.IO.RdReqs += d.RdReqs
			g.IO.RdBytes += d.RdBytes
			g.IO.WrReqs += d.WrReqs
			g.IO.WrBytes += d.WrBytes
		}
		sig := signature(st.Disks)
		k := s.known[uuid]
		stale := k == nil || k.sig != sig || s.beat-k.at >= refreshEvery || (!k.ok && s.beat-k.at >= retryEvery)
		if stale && deadline.Remaining(ctx) > budget/2 {
			k = s.readDisks(ctx, st.Domain, sig, k)
		}
		if k == nil {
			g.DisksIncomplete = true
		} else {
			g.Disks = withIO(k.disks, st.Disks)
			g.DisksIncomplete = k.sig != sig // the disks changed since
		}
		if len(g.Disks) > heartbeat.MaxGuestDisks {
			for _, d := range g.Disks[heartbeat.MaxGuestDisks:] {
				g.DisksIncomplete = g.DisksIncomplete || d.Writable()
			}
			g.DisksMore = len(g.Disks) - heartbeat.MaxGuestDisks
			g.Disks = g.Disks[:heartbeat.MaxGuestDisks]
		}
		out = append(out, g)
	}
	for uuid := range s.known {
		if !seen[uuid] {
			delete(s.known, uuid)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// readDisks reads and resolves one guest's disks. On a failed XML read the
// previous finding stays (nil when none).
func (s *Source) readDisks(ctx context.Context, dom libvirt.Domain, sig string, prev *guestDisks) *guestDisks {
	xml, err := s.conn.DomainXML(ctx, dom, false, false)
	if err != nil {
		if prev != nil {
			prev.ok, prev.at = false, s.beat
		}
		return prev
	}
	disks, err := guestdisks.Parse([]byte(xml))
	if err != nil {
		return prev
	}
	r := guestdisks.Resolver{}
	if s.Resolver != nil {
		r = *s.Resolver
	}
	r.Pool = func(ctx context.Context, name string) (string, error) { return s.conn.StoragePoolXML(ctx, name) }
	if r.Timeout == 0 {
		r.Timeout = time.Second
	}
	disks, rerr := r.ResolveAll(ctx, disks)
	k := &guestDisks{sig: sig, disks: disks, ok: rerr == nil, at: s.beat}
	s.known[dom.UUID] = k
	return k
}

// signature names a guest's disks as the stats give them, to notice a
// disk added, removed or changed.
func signature(disks []libvirt.DiskStats) string {
	var b strings.Builder
	for _, d := range disks {
		b.WriteString(d.Name)
		b.WriteByte('=')
		b.WriteString(d.Path)
		b.WriteByte(0)
	}
	return b.String()
}

// withIO copies disks with the counters the stats give their targets.
func withIO(disks []heartbeat.Disk, stats []libvirt.DiskStats) []heartbeat.Disk {
	out := make([]heartbeat.Disk, len(disks))
	for i, d := range disks {
		out[i] = d
		for _, st := range stats {
			if st.Name == d.Target && d.Target != "" {
				out[i].IO = &heartbeat.DiskIO{RdReqs: st.RdReqs, RdBytes: st.RdBytes, WrReqs: st.WrReqs, WrBytes: st.WrBytes}
				break
			}
		}
	}
	return out
}
