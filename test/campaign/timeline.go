package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"
)

// The timeline is everything the campaign saw or did, in order: what the observer sampled
// (domains per node, holders per image, the blocklist, Pacemaker's view, fencing, the guests'
// consoles), the faults the nemesis injected and healed, and the checker's verdicts. It is
// kept in memory for the checker and the report, and written as JSON lines as it grows, so a
// campaign that dies still leaves its history.

// Event kinds.
const (
	evDomain    = "domain"    // Node, Guest, State (running, paused, shutoff, gone); node "unknown" when libvirtd does not answer
	evNode      = "node"      // Node, State (on, off)
	evLibvirt   = "libvirt"   // Node, State (answers, silent)
	evHolders   = "holders"   // Guest (its image), Values (watcher addresses), Detail (lock owner)
	evBlocklist = "blocklist" // Values (entries)
	evPlacement = "placement" // Guest, Node (where Pacemaker has it Started, "" for nowhere), State (role, failed)
	evMembers   = "members"   // Values (online nodes), Detail (from which node)
	evFailures  = "failures"  // Values (failed actions)
	evFence     = "fence"     // Node (target), State (action/status), Detail
	evBoot      = "boot"      // Guest, Node, Detail (the writer's BOOT line)
	evRing      = "ring"      // Guest, Node, Detail (the writer's RING line)
	evWriteErr  = "write-error"
	evFault     = "fault"     // Detail (what), State (inject, heal)
	evRecovery  = "recovery"  // Detail
	evViolation = "violation" // Detail
	evNote      = "note"
	evWatchdog  = "watchdog" // Node: the stand-in hardware watchdog reset it
)

type event struct {
	T      time.Time `json:"t"`
	Kind   string    `json:"kind"`
	Node   string    `json:"node,omitempty"`
	Guest  string    `json:"guest,omitempty"`
	State  string    `json:"state,omitempty"`
	Detail string    `json:"detail,omitempty"`
	Values []string  `json:"values,omitempty"`
}

func (e event) String() string {
	s := e.T.Format("15:04:05.000") + " " + e.Kind
	for _, f := range []string{e.Node, e.Guest, e.State} {
		if f != "" {
			s += " " + f
		}
	}
	if len(e.Values) > 0 {
		s += fmt.Sprintf(" %v", e.Values)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

type timeline struct {
	mu     sync.Mutex
	events []event
	out    *json.Encoder
	file   *os.File
	start  time.Time
	// onEvent, when set, sees every event as it is added (progress output).
	onEvent func(event)
}

func newTimeline(path string) (*timeline, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &timeline{out: json.NewEncoder(f), file: f, start: time.Now()}, nil
}

func (tl *timeline) add(e event) {
	if e.T.IsZero() {
		e.T = time.Now()
	}
	tl.mu.Lock()
	tl.events = append(tl.events, e)
	_ = tl.out.Encode(e)
	cb := tl.onEvent
	tl.mu.Unlock()
	if cb != nil {
		cb(e)
	}
}

// snapshot returns the events so far, in time order.
func (tl *timeline) snapshot() []event {
	tl.mu.Lock()
	out := append([]event(nil), tl.events...)
	tl.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].T.Before(out[j].T) })
	return out
}

// around returns the events within d of t, for a violation's piece of the timeline.
func (tl *timeline) around(t time.Time, d time.Duration, keep func(event) bool) []event {
	var out []event
	for _, e := range tl.snapshot() {
		if e.T.After(t.Add(-d)) && e.T.Before(t.Add(d)) && (keep == nil || keep(e)) {
			out = append(out, e)
		}
	}
	return out
}

func (tl *timeline) close() error {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.file.Close()
}
