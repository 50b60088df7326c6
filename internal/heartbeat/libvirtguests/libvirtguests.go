// Package libvirtguests lists a host's running guests and their block I/O
// counters for its heartbeat record over go-libvirt (package
// internal/libvirt): one stats call per beat, on one connection kept between
// beats and dialled again after a failure.
package libvirtguests

import (
	"context"
	"sort"
	"sync"

	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/libvirt"
)

// Source is a heartbeat.GuestSource over the libvirtd at URI.
type Source struct {
	URI string

	mu   sync.Mutex
	conn *libvirt.Conn
}

// Guests lists the running (active) domains with their block I/O counters.
func (s *Source) Guests(ctx context.Context) ([]heartbeat.Guest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		c, err := libvirt.Dial(ctx, s.URI)
		if err != nil {
			return nil, err
		}
		s.conn = c
	}
	stats, err := s.conn.ActiveBlockStats(ctx)
	if err != nil {
		s.conn.Close()
		s.conn = nil
		return nil, err
	}
	out := make([]heartbeat.Guest, 0, len(stats))
	for _, st := range stats {
		out = append(out, heartbeat.Guest{Name: st.Name, UUID: st.UUID, IO: &heartbeat.GuestIO{
			RdReqs: st.RdReqs, RdBytes: st.RdBytes, WrReqs: st.WrReqs, WrBytes: st.WrBytes}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
