package heartbeat_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/heartbeattest"
)

// fencerOn returns a fencer with its own views of the stores.
func fencerOn(stores ...*heartbeattest.MemoryStore) (*heartbeat.Fencer, []*heartbeattest.MemoryView) {
	f := &heartbeat.Fencer{Self: "node3", Margin: 100 * time.Millisecond, Poll: 20 * time.Millisecond}
	var views []*heartbeattest.MemoryView
	for _, s := range stores {
		v := s.View()
		views = append(views, v)
		f.Backends = append(f.Backends, v)
	}
	return f, views
}

// putPeer writes a record of node2 to the stores, as its daemon would.
func putPeer(t *testing.T, r *heartbeat.Record, stores ...*heartbeattest.MemoryStore) {
	t.Helper()
	data, err := heartbeat.EncodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stores {
		s.PutRecord(r.Node, data)
	}
}

func shortRecord(stores []*heartbeattest.MemoryStore, inc, seq uint64) *heartbeat.Record {
	r := heartbeat.PeerRecord(inc, seq)
	r.IntervalMs, r.TimeoutMs, r.WatchdogMs = 50, 150, 150
	for _, s := range stores {
		r.Backends = append(r.Backends, s.URI())
	}
	return r
}

func TestFenceAcknowledgedByALiveDaemon(t *testing.T) {
	h := newDaemonHarness(t, 2, nil)
	h.start()
	h.waitFor("healthy", h.healthy)
	f, _ := fencerOn(h.stores...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log := &testLog{}
	v, err := f.Fence(ctx, "node1", heartbeat.CmdReboot, log)
	if err != nil || !v.Dead || !strings.Contains(v.Reason, "acknowledged") {
		t.Fatalf("%+v %v", v, err)
	}
	if cmd := <-h.fenced; cmd != heartbeat.CmdReboot {
		t.Fatalf("fenced with %s", cmd)
	}
	if !log.has("left for node1 on all 2 backends") {
		t.Fatalf("log: %v", log.lines)
	}
	if v := f.Observe(ctx, "node1"); !v.Dead {
		t.Fatal("status after the fence is not off")
	}
}

func TestFenceProvesAStaleHostDead(t *testing.T) {
	stores := []*heartbeattest.MemoryStore{heartbeattest.NewMemoryStore("file:///a"), heartbeattest.NewMemoryStore("file:///b")}
	putPeer(t, shortRecord(stores, 1, 7), stores...)
	f, _ := fencerOn(stores...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	v, err := f.Fence(ctx, "node2", heartbeat.CmdOff, &testLog{})
	took := time.Since(start)
	if err != nil || !v.Dead || !strings.Contains(v.Reason, "2 of its 2 backends") {
		t.Fatalf("%+v %v", v, err)
	}
	if took < 400*time.Millisecond {
		t.Fatalf("proven dead after %s, before timeout+watchdog+margin", took)
	}
	m, err := heartbeat.DecodeMessage(stores[0].Message("node2"))
	if err != nil || m.Cmd != heartbeat.CmdOff || m.Incarnation != 1 || m.From != "node3" {
		t.Fatalf("message %+v %v", m, err)
	}
}

func TestFenceStartsFromTheDaemonsSighting(t *testing.T) {
	stores := []*heartbeattest.MemoryStore{heartbeattest.NewMemoryStore("file:///a")}
	putPeer(t, shortRecord(stores, 1, 7), stores...)
	f, _ := fencerOn(stores...)
	now := heartbeat.BootTime()
	f.SeedFromState(&heartbeat.State{WrittenAt: now, Interval: heartbeat.Duration(time.Second), Peers: []heartbeat.PeerState{{Node: "node2",
		Sightings: []heartbeat.Sighting{{URI: "file:///a", Incarnation: 1, Seq: 7, ChangedAt: now - time.Minute}}}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if v, err := f.Fence(ctx, "node2", heartbeat.CmdOff, &testLog{}); err != nil || !v.Dead {
		t.Fatalf("%+v %v", v, err)
	}
	if time.Since(start) > 300*time.Millisecond {
		t.Fatal("the daemon's sighting was not used")
	}
	// A stale state file is ignored.
	g, _ := fencerOn(stores...)
	g.SeedFromState(&heartbeat.State{WrittenAt: now - time.Hour, Interval: heartbeat.Duration(time.Second)})
	g.SeedFromState(nil)
	if len(g.Seeds) != 0 {
		t.Fatal("seeded from a stale state")
	}
}

func TestFenceRefusesWhatCannotBeProven(t *testing.T) {
	stores := []*heartbeattest.MemoryStore{heartbeattest.NewMemoryStore("file:///a")}
	f, _ := fencerOn(stores...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := f.Fence(ctx, "node2", heartbeat.CmdOff, &testLog{}); err == nil || !strings.Contains(err.Error(), "no record") {
		t.Fatalf("never seen: %v", err)
	}
	stopped := shortRecord(stores, 1, 3)
	stopped.State, stopped.WatchdogMs = heartbeat.StateStopped, 0
	putPeer(t, stopped, stores...)
	f, _ = fencerOn(stores...)
	if _, err := f.Fence(ctx, "node2", heartbeat.CmdOff, &testLog{}); err == nil || !strings.Contains(err.Error(), "stopped cleanly") {
		t.Fatalf("stopped: %v", err)
	}
	nowd := shortRecord(stores, 1, 3)
	nowd.WatchdogMs = 0
	putPeer(t, nowd, stores...)
	f, _ = fencerOn(stores...)
	short, cancel2 := context.WithTimeout(ctx, 600*time.Millisecond)
	defer cancel2()
	if _, err := f.Fence(short, "node2", heartbeat.CmdOff, &testLog{}); err == nil || !strings.Contains(err.Error(), "no watchdog") {
		t.Fatalf("no watchdog: %v", err)
	}
}

func TestFenceFollowsARestartAndAStop(t *testing.T) {
	stores := []*heartbeattest.MemoryStore{heartbeattest.NewMemoryStore("file:///a")}
	r := shortRecord(stores, 1, 1)
	r.WatchdogMs = 0 // only an ack can end this
	putPeer(t, r, stores...)
	f, _ := fencerOn(stores...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := f.Fence(ctx, "node2", heartbeat.CmdOff, &testLog{}); done <- err }()
	waitUntil(t, 2*time.Second, func() bool { return stores[0].Message("node2") != nil })
	r2 := shortRecord(stores, 2, 1)
	r2.WatchdogMs = 0
	putPeer(t, r2, stores...)
	waitUntil(t, 2*time.Second, func() bool {
		m, err := heartbeat.DecodeMessage(stores[0].Message("node2"))
		return err == nil && m.Incarnation == 2
	})
	r2.Seq, r2.State = 2, heartbeat.StateStopped
	putPeer(t, r2, stores...)
	if err := <-done; err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("stopped during the fence: %v", err)
	}
}

func TestFenceWithoutMessageDelivery(t *testing.T) {
	stores := []*heartbeattest.MemoryStore{heartbeattest.NewMemoryStore("file:///a")}
	slow := shortRecord(stores, 1, 7)
	slow.TimeoutMs, slow.WatchdogMs = 600, 600 // long enough for a resend after 1 s
	putPeer(t, slow, stores...)
	f, views := fencerOn(stores...)
	views[0].Fail(errors.New("read-only"), heartbeattest.OpWriteMessage)
	log := &testLog{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if v, err := f.Fence(ctx, "node2", heartbeat.CmdOff, log); err != nil || !v.Dead {
		t.Fatalf("%+v %v", v, err)
	}
	if !log.has("no backend took the fence message") {
		t.Fatalf("log %v", log.lines)
	}
	if views[0].Calls(heartbeattest.OpWriteMessage) < 2 {
		t.Fatal("the message was not retried")
	}
	// Partly delivered.
	two := []*heartbeattest.MemoryStore{heartbeattest.NewMemoryStore("file:///a"), heartbeattest.NewMemoryStore("file:///b")}
	putPeer(t, shortRecord(two, 1, 7), two...)
	f, views = fencerOn(two...)
	views[1].Fail(errors.New("eio"), heartbeattest.OpWriteMessage)
	log = &testLog{}
	if _, err := f.Fence(ctx, "node2", heartbeat.CmdOff, log); err != nil || !log.has("on 1 of 2 backends") {
		t.Fatalf("%v %v", err, log.lines)
	}
}

func TestFencerHosts(t *testing.T) {
	a, b := heartbeattest.NewMemoryStore("file:///a"), heartbeattest.NewMemoryStore("file:///b")
	a.View().Register(context.Background(), "node1")
	b.View().Register(context.Background(), "node2")
	f, views := fencerOn(a, b)
	hosts, errs := f.Hosts(context.Background())
	if strings.Join(hosts, " ") != "node1 node2" || len(errs) != 0 {
		t.Fatalf("%v %v", hosts, errs)
	}
	views[1].Fail(errors.New("down"), heartbeattest.OpHosts)
	hosts, errs = f.Hosts(context.Background())
	if strings.Join(hosts, " ") != "node1" || len(errs) != 1 {
		t.Fatalf("%v %v", hosts, errs)
	}
}
