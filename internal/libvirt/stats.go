package libvirt

import (
	"context"
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// BlockStats are a running domain's cumulative block I/O counters, summed
// over all its disks.
type BlockStats struct {
	Name, UUID                       string
	RdReqs, RdBytes, WrReqs, WrBytes uint64
}

// ActiveBlockStats reads the block counters of every running domain in one
// call (virConnectGetAllDomainStats with VIR_DOMAIN_STATS_BLOCK): a host
// heartbeat tells "guests still doing I/O" from them without a call per
// domain.
func (c *Conn) ActiveBlockStats(ctx context.Context) ([]BlockStats, error) {
	recs, err := call(ctx, c, "block stats", func() ([]golibvirt.DomainStatsRecord, error) {
		return c.rpc.ConnectGetAllDomainStats(nil, uint32(golibvirt.DomainStatsBlock),
			uint32(golibvirt.ConnectGetAllDomainsStatsActive))
	})
	if err != nil {
		return nil, err
	}
	out := make([]BlockStats, 0, len(recs))
	for _, r := range recs {
		s := BlockStats{Name: r.Dom.Name, UUID: formatUUID(r.Dom.UUID)}
		for _, p := range r.Params {
			s.add(p.Field, p.Value.I)
		}
		out = append(out, s)
	}
	return out, nil
}

// add counts one typed parameter: "block.<n>.rd.reqs" and its siblings,
// per disk; everything else (names, paths, allocation) is ignored.
func (s *BlockStats) add(field string, value any) {
	if !strings.HasPrefix(field, "block.") {
		return
	}
	n, ok := value.(uint64)
	if !ok {
		return
	}
	switch {
	case strings.HasSuffix(field, ".rd.reqs"):
		s.RdReqs += n
	case strings.HasSuffix(field, ".rd.bytes"):
		s.RdBytes += n
	case strings.HasSuffix(field, ".wr.reqs"):
		s.WrReqs += n
	case strings.HasSuffix(field, ".wr.bytes"):
		s.WrBytes += n
	}
}
