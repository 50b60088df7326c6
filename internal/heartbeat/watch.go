package heartbeat

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// BootTime is the host's CLOCK_BOOTTIME: monotonic, counting suspend, and
// the same for every process of the host, so the daemon's observations and a
// fence agent's can be compared.
func BootTime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		panic("CLOCK_BOOTTIME: " + err.Error()) // Linux ≥ 2.6.39 always has it
	}
	return time.Duration(ts.Nano())
}

// Sighting is when a reader last saw one host's record change on one
// backend, on the reader's BootTime clock.
type Sighting struct {
	URI         string        `json:"uri"`
	Incarnation uint64        `json:"inc"`
	Seq         uint64        `json:"seq"`
	ChangedAt   time.Duration `json:"changed_at_ns"`
}

// Watch follows one host's record on every backend and decides whether the
// host is provably dead. It is not safe for concurrent use.
type Watch struct {
	node string
	// target is the newest record after the first full round of reads: the
	// life of the host being fenced. A newer record with another boot id
	// proves that life over.
	target *Record
	tracks map[string]*track
	seeds  map[string]Sighting
}

type track struct {
	rec *Record
	// changedAt is when the read that first returned rec's (incarnation,
	// seq) ended: the change happened before.
	changedAt time.Duration
	// readAt is when the last read started: the record was unchanged at
	// least until then (a slow read may return what was there at its start).
	readAt time.Duration
	err    error // the last read's error
}

// NewWatch starts watching node.
func NewWatch(node string) *Watch {
	return &Watch{node: node, tracks: map[string]*track{}, seeds: map[string]Sighting{}}
}

// Seed gives an earlier observation (the local daemon's): if the first
// record this watch reads on s.URI is the one the daemon saw, its change
// time is the daemon's, not the time of that first read.
func (w *Watch) Seed(s Sighting) { w.seeds[s.URI] = s }

// Observe records one read of the host's record on a backend, which
// started at start and returned at end (BootTime).
func (w *Watch) Observe(uri string, rec *Record, err error, start, end time.Duration) {
	t := w.tracks[uri]
	if t == nil {
		t = &track{}
		w.tracks[uri] = t
	}
	t.readAt, t.err = start, err
	if err != nil || rec == nil {
		if err == nil {
			t.err = ErrNotFound
		}
		return
	}
	switch {
	case t.rec == nil:
		t.changedAt = end
		if s, ok := w.seeds[uri]; ok && s.Incarnation == rec.Incarnation && s.Seq == rec.Seq && s.ChangedAt <= end {
			t.changedAt = s.ChangedAt
		}
	case t.rec.Incarnation != rec.Incarnation || t.rec.Seq != rec.Seq:
		t.changedAt = end
	}
	t.rec = rec
}

// Pin makes the newest record seen so far the target (once): call it after
// the first round of reads of every backend.
func (w *Watch) Pin() {
	if w.target == nil {
		w.target = w.Latest()
	}
}

// Sightings returns what the watch knows, for the daemon's state file.
func (w *Watch) Sightings() []Sighting {
	var out []Sighting
	for uri, t := range w.tracks {
		if t.rec != nil {
			out = append(out, Sighting{URI: uri, Incarnation: t.rec.Incarnation, Seq: t.rec.Seq, ChangedAt: t.changedAt})
		}
	}
	return out
}

// Latest is the newest record seen on any backend, nil when none.
func (w *Watch) Latest() *Record {
	var latest *Record
	for _, t := range w.tracks {
		if t.rec != nil && t.rec.Newer(latest) {
			latest = t.rec
		}
	}
	return latest
}

// Age is how long the record on uri has been unchanged as of its last
// successful read; ok is false when that backend's last read failed. It
// may be negative just after a change.
func (w *Watch) Age(uri string) (age time.Duration, ok bool) {
	t := w.tracks[uri]
	if t == nil || t.rec == nil || t.err != nil {
		return 0, false
	}
	return t.readAt - t.changedAt, true
}

// ReadOK reports whether the last read of uri succeeded: it gave a record,
// or found none there.
func (w *Watch) ReadOK(uri string) bool {
	t := w.tracks[uri]
	return t != nil && (t.err == nil || errors.Is(t.err, ErrNotFound))
}

// ReadError is the last read's error on uri, nil when it succeeded or found no record.
func (w *Watch) ReadError(uri string) error {
	if t := w.tracks[uri]; t != nil && !errors.Is(t.err, ErrNotFound) {
		return t.err
	}
	return nil
}

// Verdict is what a watch concludes.
type Verdict struct {
	// Dead: the host is proven fenced (Reason says how).
	Dead bool
	// Alive: its record changed within its timeout on some backend (a
	// rebooted host may be Dead, its earlier life, and Alive, its new one).
	Alive bool
	// Known: some backend holds a record of the host.
	Known bool
	// Provable: staleness can prove death (a running record with a
	// watchdog), so waiting may help.
	Provable bool
	// Rebooted: Dead because a newer record comes from another boot of the
	// host. The host is up again: what its newest record says is its new life's.
	Rebooted bool
	Reason   string
}

// Verdict decides from what was observed. margin is added to the record's
// timeout and watchdog timeout before staleness counts.
func (w *Watch) Verdict(margin time.Duration) Verdict {
	latest := w.Latest()
	if latest == nil {
		return Verdict{Reason: w.noRecord()}
	}
	v := Verdict{Known: true}
	for _, t := range w.tracks {
		if t.rec != nil && t.err == nil && t.readAt-t.changedAt < t.rec.Timeout() {
			v.Alive = true
		}
	}
	if tg := w.target; tg != nil && tg.Boot != "" {
		for _, t := range w.tracks {
			if t.rec != nil && t.rec.Boot != "" && t.rec.Boot != tg.Boot && t.rec.Newer(tg) {
				v.Dead, v.Rebooted, v.Reason = true, true, fmt.Sprintf("%s rebooted (its kernel boot id changed)", w.node)
				return v
			}
		}
	}
	if latest.State == StateFencing && latest.Ack != nil {
		v.Dead = true
		v.Reason = fmt.Sprintf("%s acknowledged fence message %s (%s from %s) and is fencing itself",
			w.node, latest.Ack.ID, latest.Ack.Cmd, orUnknown(latest.Ack.From))
		return v
	}
	switch {
	case latest.State == StateStopped:
		v.Reason = fmt.Sprintf("the heartbeat of %s was stopped cleanly and its watchdog disarmed: staleness proves nothing", w.node)
		return v
	case latest.WatchdogMs == 0:
		v.Reason = fmt.Sprintf("%s runs no watchdog: staleness proves nothing", w.node)
		return v
	}
	v.Provable = true
	limit := latest.Timeout() + latest.Watchdog() + margin
	need := StaleNeeded(len(latest.Backends))
	stale := 0
	for _, uri := range latest.Backends {
		if age, ok := w.Age(uri); ok && age >= limit {
			stale++
		}
	}
	if stale >= need {
		v.Dead, v.Alive = true, false
		v.Reason = fmt.Sprintf("the record of %s has not changed for more than %s (timeout %s + watchdog %s + margin %s) on %d of its %d backends",
			w.node, limit, latest.Timeout(), latest.Watchdog(), margin, stale, len(latest.Backends))
		return v
	}
	v.Reason = fmt.Sprintf("%s: stale for %s on %d of the %d backends needed", w.node, limit, stale, need)
	return v
}

// noRecord says why no record of the host was read: none on any backend, or some were
// corrupt or could not be read (which is not the same as none: the host may be alive).
func (w *Watch) noRecord() string {
	var corrupt, failed []string
	for _, uri := range slices.Sorted(maps.Keys(w.tracks)) {
		switch err := w.tracks[uri].err; {
		case err == nil || errors.Is(err, ErrNotFound):
		case errors.Is(err, ErrBadFrame):
			corrupt = append(corrupt, uri+": "+err.Error())
		default:
			failed = append(failed, uri+": "+err.Error())
		}
	}
	switch {
	case len(corrupt) > 0:
		return fmt.Sprintf("no readable record of %s: %s", w.node, strings.Join(append(corrupt, failed...), "; "))
	case len(failed) > 0:
		return fmt.Sprintf("no record of %s could be read: %s", w.node, strings.Join(failed, "; "))
	}
	return fmt.Sprintf("no record of %s on any backend", w.node)
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown fencer"
	}
	return s
}
