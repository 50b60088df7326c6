package doctor

import (
	"context"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
)

func TestParseCephTime(t *testing.T) {
	for _, s := range []string{"2026-11-22T03:14:27.112183+0000", "2026-11-22T03:14:27.112183Z", "2026-11-22T04:14:27.112183+01:00"} {
		got, err := parseCephTime(s)
		if err != nil || !got.Equal(time.Date(2026, 11, 22, 3, 14, 27, 112183000, time.UTC)) {
			t.Errorf("%q: %v %v", s, got, err)
		}
	}
	for _, s := range []string{"", "2026-11-22 03:14:27", "0.000000", "yesterday"} {
		if _, err := parseCephTime(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestClockVerdicts(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		r    clockReading
		want Status
	}{
		{clockReading{offset: 2 * ms, bound: ms}, Pass},
		{clockReading{offset: -40 * ms, bound: 5 * ms}, Pass},
		{clockReading{offset: 40 * ms, bound: 20 * ms}, Warn}, // cannot prove 0.05 s
		{clockReading{offset: 10 * ms, bound: ms, spread: 45 * ms}, Warn},
		{clockReading{offset: -200 * ms, bound: ms}, Warn},
		{clockReading{offset: 600 * ms, bound: 200 * ms}, Warn}, // may be 0.4 s
		{clockReading{offset: -800 * ms, bound: 10 * ms}, Fail},
	} {
		if got := c.r.verdict(); got != c.want {
			t.Errorf("%v: %s, want %s", c.r, got, c.want)
		}
	}
}

// clockDoctor is a Doctor whose monitor is off by skew and answers after
// rtt (on a fake clock).
func clockDoctor(t *testing.T, skew, rtt time.Duration, skews map[string]float64) *Doctor {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var calls int
	s := &fakeSession{skews: skews}
	s.stamp = func() string { return now.Add(rtt / 2).Add(-skew).Format("2006-01-02T15:04:05.000000-0700") }
	d := testDoctor("", []string{"v2:" + fakeMon(t, "ceph v2\n")}, s, nil)
	d.Now = func() time.Time {
		calls++
		if calls%2 == 0 {
			return now.Add(rtt)
		}
		return now
	}
	return d
}

func TestCheckClock(t *testing.T) {
	expect(t, runNamed(t, clockDoctor(t, 0, 2*time.Millisecond, nil), "clock")["clock"], Pass,
		"host − monitor +0.0000 s ± 0.0010 s (round trip 2.0 ms)", "")
	expect(t, runNamed(t, clockDoctor(t, 80*time.Millisecond, 2*time.Millisecond, map[string]float64{"a": 0, "b": 0.001}), "clock")["clock"], Warn,
		"host − monitor +0.0800 s ± 0.0010 s (round trip 2.0 ms); the 2 monitors' skews differ by up to 0.0010 s", "chrony")
	expect(t, runNamed(t, clockDoctor(t, -2*time.Second, 2*time.Millisecond, nil), "clock")["clock"], Fail,
		"host − monitor -2.0000 s", "chronyc")
	d := clockDoctor(t, 0, time.Millisecond, nil)
	d.ConnectCeph = func(context.Context, ceph.Config) (CephSession, error) {
		return &fakeSession{stampErr: errno(13)}, nil
	}
	expect(t, runNamed(t, d, "clock")["clock"], Warn, "cannot read the monitors' time", "mon 'allow r'")
}
