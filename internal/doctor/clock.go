package doctor

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"

	"github.com/kvmha/kvmha/internal/ceph"
)

// The clock check compares this host's wall clock with the monitors'.
// A monitor's current time comes from its report (ceph.Conn.MonTimestamp,
// read-only, mon 'allow r'); the monitor takes it somewhere between the
// moment the command leaves and the moment the answer arrives, so the
// offset is measured against the middle of that round trip and is right
// to within half of it. Which monitor answers is librados' choice; the
// others differ from it by their skews, which the leader measures and
// time-sync-status reports, so the largest difference between two
// monitors' skews is added to the error bound.
//
// Thresholds: warn above 0.05 s, Ceph's own mon_clock_drift_allowed (what
// it calls a clock skew among monitors); fail above 0.5 s, ten times that,
// beyond which no time service is keeping this host in step: cephx
// tickets, the cluster log and the heartbeat records' times, which
// operators compare across hosts, stop lining up. A bound too wide to
// prove the 0.05 s (a slow round trip) is a warning too.
const (
	clockWarn = 50 * time.Millisecond
	clockFail = 500 * time.Millisecond
)

// cephTimeLayouts are the ways Ceph prints a utime_t in JSON.
var cephTimeLayouts = []string{
	"2006-01-02T15:04:05.999999999-0700",
	time.RFC3339Nano,
}

// parseCephTime reads a monitor's timestamp.
func parseCephTime(s string) (time.Time, error) {
	for _, layout := range cephTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a Ceph timestamp", agentlog.Clip(s))
}

// clockReading is one comparison of the host's clock with a monitor's.
type clockReading struct {
	offset time.Duration // host − monitor
	bound  time.Duration // half the round trip
	spread time.Duration // largest difference between two monitors' skews
	mons   int           // monitors time-sync-status knows (0: unknown)
}

// verdict applies the thresholds to what the reading can prove.
func (c clockReading) verdict() Status {
	abs := c.offset.Abs()
	lower := max(abs-c.bound, 0)
	upper := abs + c.bound + c.spread
	switch {
	case lower > clockFail:
		return Fail
	case upper > clockWarn:
		return Warn
	}
	return Pass
}

func (c clockReading) String() string {
	s := fmt.Sprintf("host − monitor %+.4f s ± %.4f s (round trip %.1f ms)", c.offset.Seconds(), c.bound.Seconds(),
		2*float64(c.bound)/float64(time.Millisecond))
	switch {
	case c.mons > 1:
		s += fmt.Sprintf("; the %d monitors' skews differ by up to %.4f s (time-sync-status)", c.mons, c.spread.Seconds())
	case c.mons == 0:
		s += "; the monitors' skews among themselves are unknown"
	}
	return s
}

// checkClock: this host's clock is close to the monitors'.
func (d *Doctor) checkClock(ctx context.Context) Result {
	s, err := d.cephSession(ctx)
	if err != nil {
		return d.sessionFailure(err)
	}
	t0 := d.Now()
	ts, err := s.MonTimestamp(ctx)
	t1 := d.Now()
	if err != nil {
		if n := ceph.Errno(err); n == 1 || n == 13 {
			return warn(fmt.Sprintf("give %s mon 'allow r' (profile rbd has it), or run doctor with --ceph-user admin", d.user()),
				"cannot read the monitors' time: %v", err)
		}
		return fail("see the error", "cannot read the monitors' time: %v", err)
	}
	mon, err := parseCephTime(ts)
	if err != nil {
		return fail("report this as a bug in kvmha doctor", "monitor report: %v", err)
	}
	rtt := t1.Sub(t0)
	r := clockReading{offset: t0.Add(rtt / 2).Sub(mon), bound: rtt / 2}
	if skews, err := s.MonTimeSkews(ctx); err == nil {
		r.mons = max(len(skews), 1)
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range skews {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if len(skews) > 1 {
			r.spread = time.Duration((hi - lo) * float64(time.Second))
		}
	}
	fix := "keep this host's clock in step with the monitors': run chrony or ntpd against the same time servers (chronyc tracking; chronyc makestep)"
	switch r.verdict() {
	case Fail:
		return fail(fix, "%s: more than %s off", r, clockFail)
	case Warn:
		why := "more than"
		if r.offset.Abs()-r.bound <= clockWarn {
			why = "possibly more than"
		}
		return warn(fix, "%s: %s %s off (mon_clock_drift_allowed)", r, why, clockWarn)
	}
	return pass("%s", strings.TrimSpace(r.String()))
}
