package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ReadNewest reads node's record on every backend at once and returns the
// newest one (see Record.Newer), for readers that want what a host last
// said about itself rather than a verdict (fence_rbd reads its addresses).
// Every record is decoded and checked like any other read (frame CRC,
// limits, the node's name); errs has one entry per backend whose read
// failed for another reason than holding no record. rec is nil when no
// backend gave a record. A backend that does not answer before ctx ends
// counts as failed: ReadNewest returns when ctx does.
func ReadNewest(ctx context.Context, backends []Backend, node string) (rec *Record, errs []error) {
	recs := make([]*Record, len(backends))
	rerrs := make([]error, len(backends))
	var wg sync.WaitGroup
	for i, b := range backends {
		wg.Go(func() {
			recs[i], rerrs[i] = ReadRecordOf(ctx, b, node)
		})
	}
	wg.Wait()
	for i, r := range recs {
		switch err := rerrs[i]; {
		case err == nil && r.Newer(rec):
			rec = r
		case err != nil && !errors.Is(err, ErrNotFound):
			errs = append(errs, fmt.Errorf("%s: %w", backends[i].URI(), err))
		}
	}
	return rec, errs
}
