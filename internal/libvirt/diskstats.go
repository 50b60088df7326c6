package libvirt

import (
	"context"
	"slices"
	"strconv"
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// DomainDisks are a running domain's disks with their block I/O counters.
type DomainDisks struct {
	Domain Domain
	Disks  []DiskStats
}

// DiskStats are one disk's cumulative counters. Name is its target device
// (vda); Path its source file or device, empty for network disks and empty
// drives.
type DiskStats struct {
	Name, Path                       string
	RdReqs, RdBytes, WrReqs, WrBytes uint64
}

// ActiveDiskStats reads the disks of every running domain with their
// counters, in one call (virConnectGetAllDomainStats with
// VIR_DOMAIN_STATS_BLOCK): a host heartbeat tells "guests still doing I/O"
// from them without a call per domain.
func (c *Conn) ActiveDiskStats(ctx context.Context) ([]DomainDisks, error) {
	recs, err := call(ctx, c, "block stats", func() ([]golibvirt.DomainStatsRecord, error) {
		return c.rpc.ConnectGetAllDomainStats(nil, uint32(golibvirt.DomainStatsBlock),
			uint32(golibvirt.ConnectGetAllDomainsStatsActive))
	})
	if err != nil {
		return nil, err
	}
	out := make([]DomainDisks, 0, len(recs))
	for _, r := range recs {
		fields := make([]statField, len(r.Params))
		for i, p := range r.Params {
			fields[i] = statField{p.Field, p.Value.I}
		}
		out = append(out, DomainDisks{Domain: newDomain(r.Dom), Disks: disksOf(fields)})
	}
	return out, nil
}

type statField struct {
	name  string
	value any
}

// maxStatDisks bounds the disks read from one domain's stats.
const maxStatDisks = 1024

// disksOf reads "block.<n>.name", "block.<n>.path" and the counters, in
// the order of n; other fields are ignored.
func disksOf(fields []statField) []DiskStats {
	byIndex := map[int]*DiskStats{}
	var order []int
	for _, f := range fields {
		rest, ok := strings.CutPrefix(f.name, "block.")
		if !ok {
			continue
		}
		idx, key, ok := strings.Cut(rest, ".")
		n, err := strconv.Atoi(idx)
		if !ok || err != nil || n < 0 || n >= maxStatDisks {
			continue
		}
		d := byIndex[n]
		if d == nil {
			d = &DiskStats{}
			byIndex[n] = d
			order = append(order, n)
		}
		switch v := f.value.(type) {
		case string:
			switch key {
			case "name":
				d.Name = v
			case "path":
				d.Path = v
			}
		case uint64:
			switch key {
			case "rd.reqs":
				d.RdReqs = v
			case "rd.bytes":
				d.RdBytes = v
			case "wr.reqs":
				d.WrReqs = v
			case "wr.bytes":
				d.WrBytes = v
			}
		}
	}
	slices.Sort(order)
	out := make([]DiskStats, 0, len(order))
	for _, n := range order {
		if d := byIndex[n]; d.Name != "" {
			out = append(out, *d)
		}
	}
	return out
}
