package fencerbd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/fence"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/radosbackend"
)

// maxRecordWait bounds the read of a node's heartbeat record. The record
// only adds addresses: it must never hold the fence back.
const maxRecordWait = 3 * time.Second

// recordWaitWithin is how long a record read may take inside ctx: at most
// maxRecordWait (or the test's bound), at most a quarter of the time left.
func (f *fencer) recordWaitWithin(ctx context.Context) time.Duration {
	wait := maxRecordWait
	if f.recordWait > 0 {
		wait = f.recordWait
	}
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl)/4)
	}
	return max(wait, time.Millisecond)
}

// heartbeatBackends opens the heartbeat backends once per run. rados://
// backends read through this run's own session (waiting for it when it is
// still being made): fence_rbd connects to Ceph once. ctx must be the
// action's (see startConnect).
func (f *fencer) heartbeatBackends(ctx context.Context, s settings) ([]heartbeat.Backend, error) {
	f.hbMu.Lock()
	defer f.hbMu.Unlock()
	if f.backends != nil || len(s.heartbeat) == 0 {
		return f.backends, nil
	}
	local := f.openLocal
	if local == nil {
		local = heartbeat.OpenLocal
	}
	session := func(rctx context.Context) (radosbackend.Objects, error) {
		c, err := f.startConnect(ctx, s).wait(rctx)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	open := func(octx context.Context, spec heartbeat.Spec) (heartbeat.Backend, error) {
		if spec.Scheme == heartbeat.SchemeRADOS {
			return radosbackend.ReadOnly(spec, session), nil
		}
		return local(octx, spec)
	}
	bs, err := heartbeat.OpenAll(ctx, s.heartbeat, open)
	if err != nil {
		return nil, fmt.Errorf("heartbeat: %w", err)
	}
	f.backends = bs
	return bs, nil
}

// readRecord reads node's newest heartbeat record, bounded (see
// recordWaitWithin). It returns nil, nil when no backend holds one, and an
// error only when no record could be read and some backend failed.
func (f *fencer) readRecord(ctx context.Context, r *fence.Request, s settings, node string) (*heartbeat.Record, error) {
	bs, err := f.heartbeatBackends(ctx, s)
	if err != nil {
		return nil, err
	}
	wait := f.recordWaitWithin(ctx)
	rctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	start := time.Now()
	rec, errs := heartbeat.ReadNewest(rctx, bs, node)
	switch {
	case rec != nil:
		for _, e := range errs {
			r.Log.Debugf("heartbeat record of %s: %v", node, e)
		}
		r.Log.Debugf("heartbeat record of %s read in %s: incarnation %d, seq %d, state %s, addresses %q",
			node, time.Since(start).Round(time.Millisecond), rec.Incarnation, rec.Seq, rec.State, rec.Addrs)
		return rec, nil
	case len(errs) > 0 && rctx.Err() != nil && ctx.Err() == nil:
		return nil, fmt.Errorf("no answer within %s (%s)", wait, agentlog.JoinErrors(errs...))
	case len(errs) > 0:
		return nil, fmt.Errorf("%s", agentlog.JoinErrors(errs...))
	}
	return nil, nil
}

// heartbeatHosts lists the nodes registered on the heartbeat backends,
// bounded like a record read; errs has one entry per backend that failed.
func (f *fencer) heartbeatHosts(ctx context.Context, s settings) (hosts []string, errs []error) {
	bs, err := f.heartbeatBackends(ctx, s)
	if err != nil {
		return nil, []error{err}
	}
	if len(bs) == 0 {
		return nil, nil
	}
	hctx, cancel := context.WithTimeout(ctx, f.recordWaitWithin(ctx))
	defer cancel()
	return (&heartbeat.Fencer{Backends: bs}).Hosts(hctx)
}

// backendList names the heartbeat backends, for messages.
func backendList(s settings) string {
	return strings.Join(heartbeat.URIs(s.heartbeat), " ")
}
