package doctor

import (
	"testing"
	"time"
)

func TestPacemakerInterval(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90", 90 * time.Second, true},
		{"90s", 90 * time.Second, true},
		{" 90 sec", 90 * time.Second, true},
		{"2min", 2 * time.Minute, true},
		{"2M", 2 * time.Minute, true},
		{"1m30s", time.Minute, true}, // the unit is matched by its first letter: Pacemaker reads one minute
		{"1h", time.Hour, true},
		{"500ms", 500 * time.Millisecond, true},
		{"500msec", 500 * time.Millisecond, true},
		{"1500us", time.Millisecond, true},
		{"1.5s", time.Second, true}, // the fraction is dropped
		{"PT1M30S", 90 * time.Second, true},
		{"P1DT1H", 25 * time.Hour, true},
		{"P2W", 14 * 24 * time.Hour, true},
		{"99999999999999999999h", maxPacemakerTime, true},
		{"", 0, false},
		{"s", 0, false},
		{".5s", 0, false},
		{"-5s", 0, false},
		{"5 days", 0, false},
		{"P", 0, false},
		{"P1Y", 0, false},
		{"PT", 0, false},
		{"PT5", 0, false},
		{"P1H", 0, false},
		{"PTT1S", 0, false},
	} {
		got, ok := pacemakerInterval(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q: %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFencerSeconds(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90": 90 * time.Second, "90s": 90 * time.Second, " 60s": time.Minute, "2min": 2 * time.Second, "500ms": 500 * time.Second,
		"1m30s": time.Second, "+7": 7 * time.Second, "-7": 0, "": 0, "abc": 0, "PT90S": 0, "99999999999": 2147483647 * time.Second,
	} {
		if got := fencerSeconds(in); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}

func TestAgentSeconds(t *testing.T) {
	for in, want := range map[string]time.Duration{"2": 2 * time.Second, "2.5": 2500 * time.Millisecond, " 3s ": 3 * time.Second} {
		if got, ok := agentSeconds(in); !ok || got != want {
			t.Errorf("%q: %v %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "-1", "NaN", "2min", "1e7"} {
		if _, ok := agentSeconds(in); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestVersionBefore(t *testing.T) {
	for v, want := range map[string]bool{"2.1.5-a3f44794f94": true, "2.1.6-6fdc9deea29": false, "2.1": true, "3.0.0": false,
		"2.0.5": true, "x": true, "": true, "2.1.10": false} {
		if got := versionBefore(v, 2, 1, 6); got != want {
			t.Errorf("%q: %v", v, got)
		}
	}
}
