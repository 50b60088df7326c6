package heartbeat

import (
	"context"
	"time"
)

// backendLoop is the only writer of this host's record on backend i: it
// writes each new frame, then reads the host's message slot. Being the
// only writer keeps the writes to one backend in order, so a final frame
// (the ack, or "stopped") is never overwritten by an older beat.
func (d *Daemon) backendLoop(ctx context.Context, i int) {
	defer d.loops.Done()
	b := d.deps.Backends[i]
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake[i]:
		}
		d.mu.Lock()
		frame, final, gen := d.frame, d.final, d.finalGen
		done := final && d.beState[i].wroteGen == gen
		d.mu.Unlock()
		if frame == nil || done {
			continue
		}
		opCtx, cancel := context.WithTimeout(ctx, d.cfg.Timeout.D())
		start := d.deps.Now()
		err := d.beat(opCtx, i, b, frame, final)
		cancel()
		d.report(i, start, final, gen, err)
	}
}

// beat registers if needed, writes frame and, unless it is final, reads
// the message slot.
func (d *Daemon) beat(ctx context.Context, i int, b Backend, frame []byte, final bool) error {
	d.mu.Lock()
	registered := d.beState[i].registered
	d.mu.Unlock()
	if !registered {
		if err := b.Register(ctx, d.cfg.Node); err != nil {
			return err
		}
		d.mu.Lock()
		d.beState[i].registered = true
		d.mu.Unlock()
	}
	if err := b.WriteRecord(ctx, d.cfg.Node, frame); err != nil {
		return err
	}
	if final {
		return nil
	}
	m, err := ReadMessageOf(ctx, b, d.cfg.Node)
	if err != nil {
		return err
	}
	if m != nil {
		d.onMessage(b.URI(), m)
	}
	return nil
}

func (d *Daemon) report(i int, start time.Duration, final bool, gen int, err error) {
	d.mu.Lock()
	st := d.beState[i]
	changed := st.ok != (err == nil) || (err != nil && (st.err == nil || st.err.Error() != err.Error()))
	st.ok, st.err = err == nil, err
	if err == nil {
		st.lastOK = start
		if final {
			st.wroteGen = gen
		}
	}
	d.mu.Unlock()
	uri := d.deps.Backends[i].URI()
	switch {
	case !changed:
	case err != nil:
		d.deps.Log.Warnf("backend %s: %v", uri, err)
	default:
		d.deps.Log.Infof("backend %s: ok", uri)
	}
}

// finalWritten counts the backends that took the final frame.
func (d *Daemon) finalWritten() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, b := range d.beState {
		if b.wroteGen == d.finalGen {
			n++
		}
	}
	return n
}

// writeFinal makes rec the last frame every loop writes and waits until
// all wrote it or the timeout passed, returning how many did. Loops retry
// while they fail.
func (d *Daemon) writeFinal(rec *Record, timeout time.Duration) int {
	frame, err := EncodeRecord(rec)
	if err != nil {
		d.deps.Log.Errorf("cannot encode the final record: %v", err)
		return 0
	}
	d.mu.Lock()
	d.frame, d.final = frame, true
	d.finalGen++
	d.mu.Unlock()
	deadline := d.deps.Now() + timeout
	retry := max(d.cfg.Interval.D()/4, 50*time.Millisecond)
	for {
		d.wakeLoops()
		n := d.finalWritten()
		if n == len(d.beState) || d.deps.Now() >= deadline {
			return n
		}
		time.Sleep(min(retry, 100*time.Millisecond))
	}
}
