package heartbeat_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/heartbeattest"
)

func TestCollectAndTable(t *testing.T) {
	a, b := heartbeattest.NewMemoryStore("file:///a"), heartbeattest.NewMemoryStore("file:///b")
	ctx := context.Background()
	now, wall := 100*time.Second, time.UnixMilli(1_700_000_010_000)
	// node1 is this host (the daemon's state), node2 a peer the daemon saw
	// change 3 s ago, node3 a peer only known by its clock, node4 stopped.
	self := heartbeat.PeerRecord(1, 50, "file:///a", "file:///b")
	self.Node = "node1"
	putPeer(t, self, a, b)
	peer := heartbeat.PeerRecord(2, 9, "file:///a", "file:///b")
	peer.Guests = []heartbeat.Guest{{Name: "vm1", IO: &heartbeat.GuestIO{Moving: true}}, {Name: "vm2", IO: &heartbeat.GuestIO{}}, {Name: "vm3"}}
	putPeer(t, peer, a, b)
	old := heartbeat.PeerRecord(3, 4, "file:///a", "file:///b")
	old.Node, old.TimeMs = "node3", 1_700_000_000_000
	putPeer(t, old, a)
	stopped := heartbeat.PeerRecord(4, 1, "file:///a")
	stopped.Node, stopped.State, stopped.WatchdogMs = "node4", heartbeat.StateStopped, 0
	putPeer(t, stopped, a)
	a.View().Register(ctx, "node5") // registered, never wrote
	state := &heartbeat.State{Node: "node1", WrittenAt: now, Interval: heartbeat.Duration(time.Second), Incarnation: 1,
		Backends: []heartbeat.BackendState{{URI: "file:///a", OK: true, LastOK: now - time.Second}, {URI: "file:///b", LastOK: now - time.Minute}},
		Peers:    []heartbeat.PeerState{{Node: "node2", Sightings: []heartbeat.Sighting{{URI: "file:///a", Incarnation: 2, Seq: 9, ChangedAt: now - 3*time.Second}}}}}
	vb := b.View()
	vb.Fail(errors.New("eio"), heartbeattest.OpReadRecord)
	reports, errs := heartbeat.Collect(ctx, []heartbeat.Backend{a.View(), vb}, state, now, wall)
	if len(errs) != 0 || len(reports) != 5 {
		t.Fatalf("%d reports, errors %v", len(reports), errs)
	}
	by := map[string]heartbeat.HostReport{}
	for _, r := range reports {
		by[r.Node] = r
	}
	if r := by["node1"]; r.AgeSource != "observed" || r.AgeSeconds != 1 || r.BackendsOK != 1 || r.Backends != 2 {
		t.Errorf("node1 %+v", r)
	}
	if r := by["node2"]; r.AgeSource != "observed" || r.AgeSeconds != 3 || r.Guests != 3 || r.GuestsIO != 2 || r.GuestsMoving != 1 || len(r.Errors) != 1 {
		t.Errorf("node2 %+v", r)
	}
	if r := by["node3"]; r.AgeSource != "clock" || r.AgeSeconds != 10 || r.BackendsOK != 0 {
		t.Errorf("node3 %+v", r)
	}
	if r := by["node4"]; r.State != heartbeat.StateStopped || r.Watchdog {
		t.Errorf("node4 %+v", r)
	}
	if r := by["node5"]; r.State != "unknown" {
		t.Errorf("node5 %+v", r)
	}
	var out bytes.Buffer
	if err := heartbeat.WriteTable(&out, reports); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"HOST", "node1  running  1.0s", "~10.0s", "1/2", "node5  unknown  -", "eio"} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
}
