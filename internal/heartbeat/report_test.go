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

func TestWriteGuests(t *testing.T) {
	withDisks := heartbeat.PeerRecord(2, 9, "file:///a")
	withDisks.GuestDisks = true
	withDisks.Guests = []heartbeat.Guest{
		{Name: "vm1", UUID: "u1", IO: &heartbeat.GuestIO{RdReqs: 1, RdBytes: 512, WrReqs: 2, WrBytes: 1024, Moving: true}, Disks: []heartbeat.Disk{
			{Target: "vda", Kind: heartbeat.DiskBlock, Source: "/dev/disk/by-id/wwn-0x600a", Real: "/dev/sdb", IDs: []string{"wwn:600a", "by-id:wwn-0x600a"},
				IO: &heartbeat.DiskIO{WrReqs: 2, WrBytes: 1024}},
			{Target: "sda", Kind: heartbeat.DiskFile, Source: "/iso/d.iso", ReadOnly: true},
			{Kind: heartbeat.DiskRBD, Source: "rbd/img", Volume: "ceph/img", Shareable: true},
		}, DisksMore: 2, DisksIncomplete: true},
	}
	withDisks.GuestsMore = 4
	old := heartbeat.PeerRecord(3, 1, "file:///a")
	old.Node = "node3"
	old.Guests = []heartbeat.Guest{{Name: "vm9"}}
	var out bytes.Buffer
	if err := heartbeat.WriteGuests(&out, []heartbeat.HostReport{{Node: "node2", Record: withDisks}, {Node: "node3", Record: old}, {Node: "node4"}}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"node2: 5 guests (4 left out of the record: its slot is full)",
		"  vm1 u1  rd 1 req 512 B, wr 2 req 1024 B, moving",
		"    vda   block   /dev/disk/by-id/wwn-0x600a -> /dev/sdb  ids wwn:600a by-id:wwn-0x600a  rd 0 req 0 B, wr 2 req 1024 B",
		"    sda   file    /iso/d.iso [read-only]",
		"    -     rbd     rbd/img (volume ceph/img) [shareable]",
		"    (2 more disks left out, writable ones among them",
		"node3: 1 guests (its record lists no disks: an older kvmha)",
		"  vm9\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "node4") {
		t.Errorf("a host without a record listed:\n%s", text)
	}
}
