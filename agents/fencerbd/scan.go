package fencerbd

import (
	"context"
	"fmt"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/fence"
)

// scanResult is what the holder scan found: the target's watchers and
// lockers in the configured pools.
type scanResult struct {
	holders []ceph.Holder
	err     error
}

// startScan lists, concurrently with the blocklisting, the clients of the
// target that hold images in the configured pools. The OSDs drop the
// watches of blocklisted clients, so the scan starts before the blocklist
// changes.
func (f *fencer) startScan(ctx context.Context, c cluster, s settings, t target) <-chan scanResult {
	out := make(chan scanResult, 1)
	if len(s.pools) == 0 {
		out <- scanResult{}
		return out
	}
	go func() {
		var res scanResult
		for _, p := range s.pools {
			hs, err := c.PoolHolders(ctx, p.pool, p.namespace)
			if err != nil {
				res.err = fmt.Errorf("pool %s: %w", p, err)
				break
			}
			for _, h := range hs {
				if t.owns(h.Addr) {
					res.holders = append(res.holders, h)
				}
			}
		}
		out <- res
	}()
	return out
}

// reportHolders logs the target's image holders and checks each against
// the new blocklist. A scan that is not done shortly after the fence only
// costs its report: the fence does not depend on it.
// It returns the holders found (none when the scan failed or is late).
func reportHolders(r *fence.Request, scan <-chan scanResult, bl ceph.Blocklist, t target) ([]ceph.Holder, error) {
	var res scanResult
	select {
	case res = <-scan:
	case <-time.After(scanGrace):
		r.Log.Infof("the scan of image holders is still running; fencing does not wait for it")
		return nil, nil
	}
	if res.err != nil {
		r.Log.Warnf("could not list image holders: %v", res.err)
		return nil, nil
	}
	for _, h := range res.holders {
		if !bl.IsBlocklisted(h.Addr) {
			return res.holders, fmt.Errorf("%s of %s is not blocklisted", h, t.name)
		}
		r.Log.Infof("fenced %s", h)
	}
	if len(res.holders) == 0 {
		r.Log.Debugf("no watcher or locker of %s in the checked pools", t.name)
	}
	return res.holders, nil
}
