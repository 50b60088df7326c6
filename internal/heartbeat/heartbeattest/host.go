package heartbeattest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/heartbeat"
)

// The record a Host writes: it beats every HostBeat, times out after
// HostTimeout and announces a watchdog of HostWatchdog, so that its silence
// proves it dead after HostTimeout+HostWatchdog plus the reader's margin.
// They are short so that tests of what waits for that proof run quickly.
const (
	HostBeat     = 20 * time.Millisecond
	HostTimeout  = 100 * time.Millisecond
	HostWatchdog = 100 * time.Millisecond
)

// Host plays another host's heartbeat daemon: once running, it writes its
// record to each of its stores every HostBeat until stopped. Tests of what
// reads the records (the start guards) use it to make a host live, silent
// (dead, or cut off from the stores), or come back with another record.
type Host struct {
	t      testing.TB
	stores []*MemoryStore

	mu     sync.Mutex
	rec    heartbeat.Record
	cancel context.CancelFunc
	done   chan struct{}
}

// NewHost returns node's heartbeat, not yet written: a running daemon with
// a watchdog, on stores, that lists guests with their disks. Set changes the
// record before or between Write and Run.
func NewHost(t testing.TB, node string, stores []*MemoryStore, guests ...heartbeat.Guest) *Host {
	var uris []string
	for _, s := range stores {
		uris = append(uris, s.URI())
	}
	return &Host{t: t, stores: stores, rec: heartbeat.Record{
		Node: node, Boot: "boot-1", Incarnation: 1, IntervalMs: HostBeat.Milliseconds(),
		TimeoutMs: HostTimeout.Milliseconds(), WatchdogMs: HostWatchdog.Milliseconds(),
		State: heartbeat.StateRunning, Backends: uris, BackendsOK: len(uris), Guests: guests, GuestDisks: true,
	}}
}

// Write writes the record once to every store, with the next sequence
// number and the current time, as one beat of the daemon would.
func (h *Host) Write() {
	h.mu.Lock()
	h.rec.Seq++
	h.rec.TimeMs = time.Now().UnixMilli()
	r := h.rec
	h.mu.Unlock()
	data, err := heartbeat.EncodeRecord(&r)
	if err != nil {
		h.t.Error(err)
		return
	}
	for _, s := range h.stores {
		s.PutRecord(r.Node, data)
	}
}

// Run writes the record now and then every beat, until Stop or the end of
// the test. It returns h, so that a test can start a host in one line.
func (h *Host) Run() *Host {
	h.Write()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() {
		defer close(h.done)
		t := time.NewTicker(HostBeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				h.Write()
			}
		}
	}()
	h.t.Cleanup(h.Stop)
	return h
}

// Stop ends the beats and waits until none is being written: from then on
// the host is silent, as a dead host or one that lost its path to the
// stores. Run starts it again.
func (h *Host) Stop() {
	if h.cancel != nil {
		h.cancel()
		<-h.done
		h.cancel = nil
	}
}

// Set changes the record the next beats write.
func (h *Host) Set(f func(r *heartbeat.Record)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(&h.rec)
}

// Record returns a copy of the host's record, whose Seq is the last beat's,
// for a test that plays what the local daemon saw of that host.
func (h *Host) Record() heartbeat.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rec
}
