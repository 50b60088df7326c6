// Package libvirtguests lists a host's running guests for its heartbeat
// record over go-libvirt (package internal/libvirt), on one connection kept
// between beats and dialled again after a failure.
//
// Block I/O counters need a stats call that internal/libvirt does not offer
// yet (virConnectGetAllDomainStats with VIR_DOMAIN_STATS_BLOCK); until then
// the guests are listed without counters and "I/O moving" shows "-".
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

// Guests lists the running (active) domains.
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
	ds, err := s.conn.ListDomains(ctx)
	if err != nil {
		s.conn.Close()
		s.conn = nil
		return nil, err
	}
	var out []heartbeat.Guest
	for _, d := range ds {
		if d.ID >= 0 { // active: inactive domains have no id
			out = append(out, heartbeat.Guest{Name: d.Name, UUID: d.UUID})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
