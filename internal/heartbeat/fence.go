package heartbeat

import (
	"context"
	"time"
)

// onMessage acts on a fence message read from this host's slot: one for
// this run of the daemon fences the host (once); others are leftovers.
func (d *Daemon) onMessage(uri string, m *Message) {
	if m.To != d.cfg.Node || m.Incarnation != d.inc {
		return
	}
	d.fenceOne.Do(func() { go d.selfFence(uri, m) })
}

// ackTimeout bounds the wait for the ack to reach the backends before the
// host fences itself anyway.
func (d *Daemon) ackTimeout() time.Duration {
	return min(d.cfg.Timeout.D()/2, 2*time.Second)
}

// selfFence stops feeding the watchdog, writes the ack to every backend it
// can, and fences the host. If the host survives (an exec fence that did
// nothing), the daemon stays in the fencing phase: it feeds nothing and
// writes nothing more, so the watchdog resets the host.
func (d *Daemon) selfFence(uri string, m *Message) {
	d.fencing.Store(true)
	d.deps.Log.Errorf("fence message %s from %s (via %s): %s; stopped feeding the watchdog, acknowledging",
		m.ID, orUnknown(m.From), uri, m.Cmd)
	d.mu.Lock()
	d.phase = PhaseFencing
	d.fence = &Ack{ID: m.ID, Cmd: m.Cmd, From: m.From}
	d.seq++
	rec := d.recordLocked(StateFencing)
	d.mu.Unlock()
	n := d.writeFinal(rec, d.ackTimeout())
	d.deps.Log.Errorf("acknowledged on %d of %d backends; fencing this host (%s) now", n, len(d.beState), m.Cmd)
	d.writeState()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.deps.SelfFence(ctx, m.Cmd); err != nil {
		d.deps.Log.Errorf("self-fence failed: %v; the watchdog is not fed any more", err)
		return
	}
	d.deps.Log.Errorf("self-fence returned and this host still runs; the watchdog is not fed any more")
}

// stopTimeout bounds a clean stop's wait for the final record.
func (d *Daemon) stopTimeout() time.Duration {
	return min(2*d.cfg.Timeout.D(), 15*time.Second)
}

// shutdown writes the "stopped" record (no watchdog) and disarms the
// watchdog only when every backend took it: a backend left with the old
// record would let a fencer prove this host dead by staleness while it runs
// on unguarded.
func (d *Daemon) shutdown() error {
	d.mu.Lock()
	d.phase = PhaseStopping
	d.seq++
	rec := d.recordLocked(StateStopped)
	wd := d.wd
	d.mu.Unlock()
	timeout := d.stopTimeout()
	if wd == nil {
		// Never armed: no record promised a watchdog, the final one only
		// informs; do not hold the stop up for it.
		timeout = min(timeout, 2*d.cfg.Interval.D())
	}
	n := d.writeFinal(rec, timeout)
	d.writeState()
	if wd == nil || wd.Timeout() == 0 {
		d.deps.Log.Infof("stopped (final record on %d of %d backends)", n, len(d.beState))
		return nil
	}
	if n < len(d.beState) {
		d.deps.Log.Errorf("only %d of %d backends took the final record: leaving the watchdog %s armed, this host will be reset",
			n, len(d.beState), wd)
		d.revokeStop()
		return errNotClean
	}
	if err := wd.Disarm(); err != nil {
		d.deps.Log.Errorf("disarming the watchdog %s: %v (this host may be reset)", wd, err)
		return err
	}
	d.deps.Log.Infof("stopped; watchdog %s disarmed", wd)
	return nil
}

// revokeStop takes the "stopped" record back where it was written: the
// watchdog stays armed, so the newest record must promise it again, or
// fencers reading it could never prove this host dead once it is reset.
func (d *Daemon) revokeStop() {
	d.mu.Lock()
	d.phase = PhaseStopping
	d.seq++
	rec := d.recordLocked(StateRunning)
	d.mu.Unlock()
	n := d.writeFinal(rec, max(2*d.cfg.Interval.D(), time.Second))
	d.deps.Log.Errorf("watchdog promise restored on %d of %d backends", n, len(d.beState))
}

type stopError string

func (e stopError) Error() string { return string(e) }

const errNotClean = stopError("the stop was not clean: the watchdog stays armed")
