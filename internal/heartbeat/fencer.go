package heartbeat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Fencer fences hosts through their heartbeat: it leaves a fence message
// in the target's slot on every backend and waits until the target
// acknowledged, rebooted, or its record has been stale long enough to prove
// its watchdog reset it. It keeps what it observed between calls, so a
// status poll after an off goes on from there.
type Fencer struct {
	Backends []Backend
	// Self names the fencing host in its messages.
	Self string
	// Margin is added to the target's timeout and watchdog timeout
	// (DefaultMargin is what fence_kvmha uses unless told otherwise).
	Margin time.Duration
	// Poll is the time between reads while waiting (200 ms when zero).
	Poll time.Duration
	Now  func() time.Duration // BootTime when nil
	Wall func() time.Time     // time.Now when nil
	// Seeds are the local daemon's sightings, by host (see State).
	Seeds map[string][]Sighting

	mu      sync.Mutex
	watches map[string]*Watch
}

func (f *Fencer) now() time.Duration {
	if f.Now != nil {
		return f.Now()
	}
	return BootTime()
}

func (f *Fencer) wall() time.Time {
	if f.Wall != nil {
		return f.Wall()
	}
	return time.Now()
}

// SeedFromState takes the sightings of a fresh local daemon state.
func (f *Fencer) SeedFromState(s *State) {
	if s == nil || !s.Fresh(f.now()) {
		return
	}
	if f.Seeds == nil {
		f.Seeds = map[string][]Sighting{}
	}
	for _, p := range s.Peers {
		f.Seeds[p.Node] = p.Sightings
	}
}

func (f *Fencer) watch(target string) *Watch {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.watches == nil {
		f.watches = map[string]*Watch{}
	}
	w := f.watches[target]
	if w == nil {
		w = NewWatch(target)
		for _, s := range f.Seeds[target] {
			w.Seed(s)
		}
		f.watches[target] = w
	}
	return w
}

// readTimeout bounds one read of one backend while polling.
const readTimeout = 2 * time.Second

// eachBackend runs fn on every backend at once, each call bounded by
// readTimeout, and returns when all have: a hung backend delays the others'
// answer by readTimeout at most, however many backends the host has.
func (f *Fencer) eachBackend(ctx context.Context, fn func(ctx context.Context, i int, b Backend)) {
	var wg sync.WaitGroup
	for i, b := range f.Backends {
		wg.Go(func() {
			bctx, cancel := context.WithTimeout(ctx, readTimeout)
			defer cancel()
			fn(bctx, i, b)
		})
	}
	wg.Wait()
}

// Observe reads target's record on every backend once and returns the
// updated verdict.
func (f *Fencer) Observe(ctx context.Context, target string) Verdict {
	w := f.watch(target)
	f.eachBackend(ctx, func(ctx context.Context, _ int, b Backend) {
		start := f.now()
		rec, err := ReadRecordOf(ctx, b, target)
		end := f.now()
		f.mu.Lock()
		w.Observe(b.URI(), rec, err, start, end)
		f.mu.Unlock()
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Pin()
	return w.Verdict(f.Margin)
}

// Latest is the newest record of target observed so far.
func (f *Fencer) Latest(target string) *Record {
	w := f.watch(target)
	f.mu.Lock()
	defer f.mu.Unlock()
	return w.Latest()
}

// Send writes a fence message for target's incarnation inc to every
// backend, and returns it with the number of backends that took it.
func (f *Fencer) Send(ctx context.Context, target, cmd string, inc uint64) (*Message, int, error) {
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return nil, 0, err
	}
	m := &Message{ID: hex.EncodeToString(id), To: target, Cmd: cmd, Incarnation: inc, From: f.Self, TimeMs: f.wall().UnixMilli()}
	frame, err := EncodeMessage(m)
	if err != nil {
		return nil, 0, err
	}
	errs := make([]error, len(f.Backends))
	f.eachBackend(ctx, func(ctx context.Context, i int, b Backend) {
		if err := b.WriteMessage(ctx, target, frame); err != nil {
			errs[i] = fmt.Errorf("%s: %w", b.URI(), err)
		}
	})
	n := 0
	for _, e := range errs {
		if e == nil {
			n++
		}
	}
	if n == 0 {
		return m, 0, fmt.Errorf("no backend took the fence message: %w", errors.Join(errs...))
	}
	return m, n, errors.Join(errs...)
}

// Fence sends cmd to target and waits until it is proven dead or ctx ends.
// It fails at once when nothing can prove it: the target was never seen, or
// its heartbeat was stopped cleanly. If the target's daemon restarts while
// waiting, the message is sent again to the new run.
func (f *Fencer) Fence(ctx context.Context, target, cmd string, log Log) (Verdict, error) {
	v := f.Observe(ctx, target)
	if v.Dead {
		return v, nil
	}
	latest := f.Latest(target)
	if latest == nil {
		return v, errors.New(v.Reason)
	}
	if latest.State == StateStopped {
		return v, errors.New(v.Reason)
	}
	var sent *Message
	delivered, lastSend := false, time.Duration(0)
	poll := f.Poll
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	for {
		latest := f.Latest(target)
		resend := sent == nil || latest.Incarnation != sent.Incarnation || (!delivered && f.now()-lastSend >= time.Second)
		if resend {
			m, n, err := f.Send(ctx, target, cmd, latest.Incarnation)
			lastSend = f.now()
			switch {
			case n == 0:
				log.Warnf("%v; retrying, and waiting for %s to be proven dead by staleness", err, target)
			case err != nil:
				log.Warnf("fence message %s for %s on %d of %d backends: %v", m.ID, target, n, len(f.Backends), err)
			default:
				log.Infof("fence message %s (%s) left for %s on all %d backends", m.ID, cmd, target, n)
			}
			sent, delivered = m, n > 0
		}
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("%s not confirmed fenced in time: %s", target, v.Reason)
		case <-time.After(poll):
		}
		v = f.Observe(ctx, target)
		if v.Dead {
			return v, nil
		}
		if l := f.Latest(target); l != nil && l.State == StateStopped {
			return v, errors.New(v.Reason)
		}
	}
}

// Hosts lists the hosts registered on any backend; errs has one entry per
// backend that could not be listed.
func (f *Fencer) Hosts(ctx context.Context) (hosts []string, errs []error) {
	seen := map[string]bool{}
	var mu sync.Mutex
	f.eachBackend(ctx, func(ctx context.Context, _ int, b Backend) {
		hs, err := b.Hosts(ctx)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", b.URI(), err))
			return
		}
		for _, h := range hs {
			seen[h] = true
		}
	})
	for h := range seen {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	return hosts, errs
}
