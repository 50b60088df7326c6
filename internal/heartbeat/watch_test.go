package heartbeat

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const s = time.Second

func rec(inc, seq uint64, backends ...string) *Record {
	return &Record{Node: "node2", Boot: "boot-a", Incarnation: inc, Seq: seq, IntervalMs: 1000, TimeoutMs: 5000,
		WatchdogMs: 5000, State: StateRunning, Backends: backends}
}

func TestVerdictUnknown(t *testing.T) {
	w := NewWatch("node2")
	w.Observe("a", nil, ErrNotFound, 0, 0)
	if v := w.Verdict(2 * s); v.Known || v.Dead || !strings.Contains(v.Reason, "no record") {
		t.Fatalf("%+v", v)
	}
}

func TestVerdictStaleOneBackend(t *testing.T) {
	w := NewWatch("node2")
	r := rec(1, 10, "a")
	w.Observe("a", r, nil, 0, 1*s)
	if v := w.Verdict(2 * s); !v.Alive || v.Dead || !v.Provable {
		t.Fatalf("fresh: %+v", v)
	}
	// Unchanged up to 12.9 s after the change: not yet (5+5+2 = 12 s from 1 s).
	w.Observe("a", r, nil, 12*s+900*time.Millisecond, 13*s)
	if v := w.Verdict(2 * s); v.Dead || v.Alive {
		t.Fatalf("before the limit: %+v", v)
	}
	// A read that started 13 s after the change counts.
	w.Observe("a", r, nil, 13*s, 13*s+500*time.Millisecond)
	if v := w.Verdict(2 * s); !v.Dead || !strings.Contains(v.Reason, "1 of its 1") {
		t.Fatalf("after the limit: %+v", v)
	}
	// A failed read takes the proof back: the backend is unknown now.
	w.Observe("a", nil, errors.New("eio"), 14*s, 14*s)
	if v := w.Verdict(2 * s); v.Dead {
		t.Fatalf("after a failed read: %+v", v)
	}
}

func TestVerdictChangeResetsTheClock(t *testing.T) {
	w := NewWatch("node2")
	w.Observe("a", rec(1, 10, "a"), nil, 0, 0)
	w.Observe("a", rec(1, 11, "a"), nil, 10*s, 10*s)
	w.Observe("a", rec(1, 11, "a"), nil, 15*s, 15*s)
	if v := w.Verdict(2 * s); v.Dead {
		t.Fatalf("changed at 10 s, dead at 15 s? %+v", v)
	}
	// A new incarnation is a change too.
	w.Observe("a", rec(2, 1, "a"), nil, 21*s, 21*s)
	w.Observe("a", rec(2, 1, "a"), nil, 30*s, 30*s)
	if v := w.Verdict(2 * s); v.Dead {
		t.Fatalf("%+v", v)
	}
	w.Observe("a", rec(2, 1, "a"), nil, 33*s, 33*s)
	if v := w.Verdict(2 * s); !v.Dead {
		t.Fatalf("%+v", v)
	}
}

func TestVerdictQuorums(t *testing.T) {
	for _, c := range []struct {
		backends []string
		stale    []string
		dead     bool
	}{
		{[]string{"a", "b"}, []string{"a"}, false}, // b may still be the host's quorum of 1
		{[]string{"a", "b"}, []string{"a", "b"}, true},
		{[]string{"a", "b", "c"}, []string{"a"}, false},
		{[]string{"a", "b", "c"}, []string{"a", "b"}, true},  // c alone is no majority
		{[]string{"a", "b", "c"}, []string{"a", "x"}, false}, // x is not one of the host's
	} {
		w := NewWatch("node2")
		for _, b := range c.backends {
			w.Observe(b, rec(1, 1, c.backends...), nil, 0, 0)
		}
		for _, b := range c.backends {
			w.Observe(b, rec(1, 2, c.backends...), nil, 1*s, 1*s) // all fresh at 1 s
		}
		for _, b := range c.stale {
			w.Observe(b, rec(1, 2, c.backends...), nil, 20*s, 20*s)
		}
		for _, b := range c.backends {
			if !contains(c.stale, b) {
				w.Observe(b, rec(1, 3, c.backends...), nil, 20*s, 20*s)
			}
		}
		if v := w.Verdict(2 * s); v.Dead != c.dead {
			t.Errorf("%v stale of %v: %+v", c.stale, c.backends, v)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestVerdictNoProof(t *testing.T) {
	stopped := rec(1, 5, "a")
	stopped.State, stopped.WatchdogMs = StateStopped, 0
	nowd := rec(1, 5, "a")
	nowd.WatchdogMs = 0
	for name, r := range map[string]*Record{"stopped": stopped, "no watchdog": nowd} {
		w := NewWatch("node2")
		w.Observe("a", r, nil, 0, 0)
		w.Observe("a", r, nil, 100*s, 100*s)
		if v := w.Verdict(0); v.Dead || v.Provable || !v.Known {
			t.Errorf("%s: %+v", name, v)
		}
	}
}

func TestVerdictAckAndReboot(t *testing.T) {
	w := NewWatch("node2")
	w.Observe("a", rec(1, 5, "a"), nil, 0, 0)
	acked := rec(1, 6, "a")
	acked.State, acked.Ack = StateFencing, &Ack{ID: "0123456789abcdef", Cmd: CmdOff}
	w.Observe("a", acked, nil, 1*s, 1*s)
	if v := w.Verdict(0); !v.Dead || !strings.Contains(v.Reason, "acknowledged") || !strings.Contains(v.Reason, "unknown fencer") {
		t.Fatalf("%+v", v)
	}
	w = NewWatch("node2")
	w.Observe("a", rec(1, 5, "a", "b"), nil, 0, 0)
	w.Pin()
	back := rec(2, 1, "a", "b")
	back.Boot = "boot-b"
	w.Observe("b", back, nil, 1*s, 1*s)
	if v := w.Verdict(0); !v.Dead || !strings.Contains(v.Reason, "rebooted") {
		t.Fatalf("%+v", v)
	}
	// A reboot before the fence began proves nothing about the new life.
	w = NewWatch("node2")
	old := rec(1, 5, "a", "b")
	w.Observe("a", old, nil, 0, 0)
	w.Observe("b", back, nil, 0, 0)
	w.Pin()
	if v := w.Verdict(0); v.Dead {
		t.Fatalf("an earlier reboot counted: %+v", v)
	}
}

func TestWatchSeed(t *testing.T) {
	w := NewWatch("node2")
	w.Seed(Sighting{URI: "a", Incarnation: 1, Seq: 5, ChangedAt: 1 * s})
	w.Seed(Sighting{URI: "b", Incarnation: 1, Seq: 4, ChangedAt: 1 * s})
	w.Observe("a", rec(1, 5, "a", "b"), nil, 14*s, 14*s) // the daemon saw seq 5 appear at 1 s
	w.Observe("b", rec(1, 5, "a", "b"), nil, 14*s, 14*s) // but b moved on since its sighting
	if age, ok := w.Age("a"); !ok || age != 13*s {
		t.Fatalf("a: %v %v", age, ok)
	}
	if age, ok := w.Age("b"); !ok || age != 0 {
		t.Fatalf("b: %v %v", age, ok)
	}
	if v := w.Verdict(2 * s); v.Dead {
		t.Fatalf("b is fresh: %+v", v)
	}
	if got := len(w.Sightings()); got != 2 {
		t.Fatalf("%d sightings", got)
	}
	if _, ok := w.Age("zz"); ok {
		t.Fatal("age of an unknown backend")
	}
}
