package heartbeat_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/heartbeattest"
)

// The start guard against in-memory backends, with heartbeattest's hosts,
// whose heartbeat beats every 20 ms, times out after 100 ms and announces a
// 100 ms watchdog: with the 20 ms margin, 220 ms of silence prove a host dead.
const (
	beat     = heartbeattest.HostBeat
	hbLimit  = heartbeattest.HostTimeout + heartbeattest.HostWatchdog + 20*time.Millisecond
	useUUID  = "6f1c2a3e-0000-4000-8000-0000000000a1"
	otherVM  = "11111111-0000-4000-8000-000000000002"
	diskPath = "/shared/vm1.img"
)

func stores(n int) []*heartbeattest.MemoryStore {
	var out []*heartbeattest.MemoryStore
	for i := 0; i < n; i++ {
		out = append(out, heartbeattest.NewMemoryStore(fmt.Sprintf("file:///hb%d", i)))
	}
	return out
}

func views(ss []*heartbeattest.MemoryStore) []heartbeat.Backend {
	var out []heartbeat.Backend
	for _, s := range ss {
		out = append(out, s.View())
	}
	return out
}

func guard(bs []heartbeat.Backend, log *testLog) *heartbeat.InUse {
	return &heartbeat.InUse{Backends: bs, Self: "node1", Margin: 20 * time.Millisecond, Poll: 5 * time.Millisecond, Log: log}
}

// vm1 is the domain about to start: its writable file disk, and a CD-ROM.
var vm1 = heartbeat.Use{Name: "vm1", UUID: useUUID, Disks: []heartbeat.Disk{
	{Target: "vda", Kind: heartbeat.DiskFile, Source: diskPath},
	{Target: "sda", Kind: heartbeat.DiskFile, Source: "/iso/debian.iso", ReadOnly: true},
}}

func runningVM1() heartbeat.Guest {
	return heartbeat.Guest{Name: "vm1", UUID: useUUID, Disks: []heartbeat.Disk{{Target: "vda", Kind: heartbeat.DiskFile, Source: diskPath}}}
}

func check(t *testing.T, g *heartbeat.InUse, u heartbeat.Use, within time.Duration) (took time.Duration, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	start := time.Now()
	err = g.Check(ctx, u)
	return time.Since(start), err
}

func TestInUseClearWhenNoOtherHostListsIt(t *testing.T) {
	ss := stores(2)
	heartbeattest.NewHost(t, "node2", ss, heartbeat.Guest{Name: "vm7", UUID: otherVM,
		Disks: []heartbeat.Disk{{Target: "vda", Kind: heartbeat.DiskFile, Source: "/shared/vm7.img"}}}).Run()
	heartbeattest.NewHost(t, "node3", ss).Run()
	log := &testLog{}
	took, err := check(t, guard(views(ss), log), vm1, 2*time.Second)
	if err != nil || took > 200*time.Millisecond {
		t.Fatalf("%v after %s", err, took)
	}
	if !log.has("this node (node1) has no record") {
		t.Fatalf("no warning that this node has no record: %q", log.lines)
	}
}

func TestInUseRefusesALiveHostThatRunsIt(t *testing.T) {
	for name, guest := range map[string]heartbeat.Guest{
		"the domain": runningVM1(),
		"its disk": {Name: "vm7", UUID: otherVM, Disks: []heartbeat.Disk{
			{Target: "vdb", Kind: heartbeat.DiskFile, Source: "/srv/link-to-vm1.img", Real: diskPath}}},
		"an unknown guest's disks": {Name: "vm7", UUID: otherVM, DisksIncomplete: true},
	} {
		t.Run(name, func(t *testing.T) {
			ss := stores(2)
			heartbeattest.NewHost(t, "node2", ss, guest).Run()
			took, err := check(t, guard(views(ss), &testLog{}), vm1, 3*time.Second)
			if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "in use: node2 runs ") ||
				!strings.Contains(err.Error(), "alive") {
				t.Fatalf("%v", err)
			}
			// Two beats newer than the first record read, not the deadline.
			if took < 2*beat || took > time.Second {
				t.Fatalf("refused after %s", took)
			}
		})
	}
}

func TestInUseOldRecordWithoutDisks(t *testing.T) {
	ss := stores(1)
	h := heartbeattest.NewHost(t, "node2", ss, heartbeat.Guest{Name: "vm7", UUID: otherVM})
	h.Set(func(r *heartbeat.Record) { r.GuestDisks = false })
	h.Run()
	_, err := check(t, guard(views(ss), &testLog{}), vm1, 3*time.Second)
	if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "older kvmha") {
		t.Fatalf("%v", err)
	}
	// A domain without writable disks has nothing to fear from its guests' disks.
	if _, err := check(t, guard(views(ss), &testLog{}), heartbeat.Use{Name: "vm2", Disks: vm1.Disks[1:]}, time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestInUseGuestsLeftOutOfTheRecord(t *testing.T) {
	ss := stores(1)
	h := heartbeattest.NewHost(t, "node2", ss)
	h.Set(func(r *heartbeat.Record) { r.GuestsMore = 3 })
	h.Run()
	_, err := check(t, guard(views(ss), &testLog{}), heartbeat.Use{Name: "vm2"}, 3*time.Second)
	if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "3 guests its record leaves out") {
		t.Fatalf("%v", err)
	}
}

// Shareable and read-only disks are no conflict, on either side.
func TestInUseIgnoresSharedAndReadOnlyDisks(t *testing.T) {
	ss := stores(1)
	heartbeattest.NewHost(t, "node2", ss, heartbeat.Guest{Name: "vm7", UUID: otherVM, Disks: []heartbeat.Disk{
		{Target: "sda", Kind: heartbeat.DiskFile, Source: "/iso/debian.iso", ReadOnly: true},
		{Target: "vdb", Kind: heartbeat.DiskFile, Source: "/shared/cluster.img", Shareable: true},
		{Target: "vdc", Kind: heartbeat.DiskFile, Source: "/shared/quorum.img"},
	}}).Run()
	u := heartbeat.Use{Name: "vm1", Disks: []heartbeat.Disk{
		{Kind: heartbeat.DiskFile, Source: "/iso/debian.iso"},
		{Kind: heartbeat.DiskFile, Source: "/shared/cluster.img", Shareable: true},
		{Kind: heartbeat.DiskFile, Source: "/shared/quorum.img", ReadOnly: true},
	}}
	if took, err := check(t, guard(views(ss), &testLog{}), u, 2*time.Second); err != nil || took > 200*time.Millisecond {
		t.Fatalf("%v after %s", err, took)
	}
}

// This host's own record and the migration source's are not looked at.
func TestInUseIgnoresSelfAndTheMigrationPeer(t *testing.T) {
	ss := stores(1)
	heartbeattest.NewHost(t, "node1", ss, runningVM1()).Run()
	heartbeattest.NewHost(t, "node2", ss, runningVM1()).Run()
	g := guard(views(ss), &testLog{})
	g.Ignore = []string{"node2"}
	if took, err := check(t, g, vm1, 2*time.Second); err != nil || took > 200*time.Millisecond {
		t.Fatalf("%v after %s", err, took)
	}
}

// A host that stopped beating while it listed the domain is waited for
// until its silence proves it dead, then the start goes on.
func TestInUseWaitsForASilentHostToBeProvenDead(t *testing.T) {
	ss := stores(2)
	h := heartbeattest.NewHost(t, "node2", ss, runningVM1()).Run()
	h.Stop()
	log := &testLog{}
	took, err := check(t, guard(views(ss), log), vm1, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if took < hbLimit-50*time.Millisecond || took > 2*time.Second {
		t.Fatalf("proceeded after %s; proof takes %s", took, hbLimit)
	}
	if !log.has("is silent, but not yet proven dead") || !log.has("is proven dead") {
		t.Fatalf("log %q", log.lines)
	}
}

// The start's deadline ends the wait: refused, saying why.
func TestInUseSilentHostBeyondTheDeadline(t *testing.T) {
	ss := stores(1)
	h := heartbeattest.NewHost(t, "node2", ss, runningVM1()).Run()
	h.Stop()
	took, err := check(t, guard(views(ss), &testLog{}), vm1, 120*time.Millisecond)
	if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "not yet proven dead") ||
		!strings.Contains(err.Error(), "waited until the start's deadline") {
		t.Fatalf("%v", err)
	}
	if took > 400*time.Millisecond {
		t.Fatalf("took %s", took)
	}
}

// The local daemon saw the record unchanged for long: no wait.
func TestInUseSeededByTheLocalDaemon(t *testing.T) {
	ss := stores(1)
	h := heartbeattest.NewHost(t, "node2", ss, runningVM1())
	h.Write()
	g := guard(views(ss), &testLog{})
	g.Seeds = map[string][]heartbeat.Sighting{"node2": {{URI: ss[0].URI(), Incarnation: 1, Seq: 1, ChangedAt: heartbeat.BootTime() - time.Second}}}
	if took, err := check(t, g, vm1, 2*time.Second); err != nil || took > 100*time.Millisecond {
		t.Fatalf("%v after %s", err, took)
	}
}

// A host that came back (a new incarnation) without the domain no longer
// stands in the way, before its old silence would have proved anything.
func TestInUseNewIncarnationWithoutTheDomain(t *testing.T) {
	ss := stores(1)
	h := heartbeattest.NewHost(t, "node2", ss, runningVM1()).Run()
	h.Stop()
	go func() {
		time.Sleep(50 * time.Millisecond)
		h.Set(func(r *heartbeat.Record) { r.Incarnation, r.Seq, r.Guests = 2, 0, nil })
		h.Run()
	}()
	took, err := check(t, guard(views(ss), &testLog{}), vm1, 3*time.Second)
	if err != nil || took > hbLimit {
		t.Fatalf("%v after %s", err, took)
	}
}

// A live host's record may still list a domain Pacemaker just stopped
// there: the start waits for its next beats, and goes on once they do not.
func TestInUseLiveHostStopsListingIt(t *testing.T) {
	ss := stores(1)
	h := heartbeattest.NewHost(t, "node2", ss, runningVM1())
	h.Write()
	go func() {
		time.Sleep(5 * time.Millisecond)
		h.Set(func(r *heartbeat.Record) { r.Guests = nil })
		h.Run()
	}()
	if _, err := check(t, guard(views(ss), &testLog{}), vm1, 3*time.Second); err != nil {
		t.Fatal(err)
	}
}

// A host rebooted and runs the domain again: its new life counts.
func TestInUseRebootedHostRunsItAgain(t *testing.T) {
	ss := stores(1)
	h := heartbeattest.NewHost(t, "node2", ss, runningVM1())
	h.Write()
	go func() {
		time.Sleep(30 * time.Millisecond)
		h.Set(func(r *heartbeat.Record) { r.Boot, r.Incarnation, r.Seq = "boot-2", 2, 0 })
		h.Run()
	}()
	log := &testLog{}
	took, err := check(t, guard(views(ss), log), vm1, 3*time.Second)
	if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "in use: node2 runs domain vm1 (its heartbeat is alive)") ||
		log.has("proven dead") || took > time.Second {
		t.Fatalf("%v after %s; log %q", err, took, log.lines)
	}
}

func TestInUseStoppedHeartbeatIsIgnored(t *testing.T) {
	ss := stores(1)
	h := heartbeattest.NewHost(t, "node2", ss, runningVM1())
	h.Set(func(r *heartbeat.Record) { r.State, r.WatchdogMs = heartbeat.StateStopped, 0 })
	h.Write()
	log := &testLog{}
	if took, err := check(t, guard(views(ss), log), vm1, 2*time.Second); err != nil || took > 100*time.Millisecond {
		t.Fatalf("%v after %s", err, took)
	}
	if !log.has("stopped cleanly") {
		t.Fatalf("log %q", log.lines)
	}
}

func TestInUseFencingHostIsNoObstacle(t *testing.T) {
	ss := stores(1)
	h := heartbeattest.NewHost(t, "node2", ss, runningVM1())
	h.Set(func(r *heartbeat.Record) {
		r.State, r.Ack = heartbeat.StateFencing, &heartbeat.Ack{ID: "0123456789abcdef", Cmd: heartbeat.CmdOff, From: "node3"}
	})
	h.Run()
	if took, err := check(t, guard(views(ss), &testLog{}), vm1, 2*time.Second); err != nil || took > 100*time.Millisecond {
		t.Fatalf("%v after %s", err, took)
	}
}

// Without a watchdog, silence proves nothing: the wait ends with the
// deadline, and the start is refused.
func TestInUseSilentHostWithoutWatchdog(t *testing.T) {
	ss := stores(1)
	h := heartbeattest.NewHost(t, "node2", ss, runningVM1())
	h.Set(func(r *heartbeat.Record) { r.WatchdogMs = 0 })
	h.Run()
	h.Stop()
	_, err := check(t, guard(views(ss), &testLog{}), vm1, 400*time.Millisecond)
	if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "runs no watchdog") {
		t.Fatalf("%v", err)
	}
}

// What cannot be read is never taken for "nothing there".
func TestInUseUnreadableBackends(t *testing.T) {
	t.Run("a record read fails", func(t *testing.T) {
		ss := stores(2)
		heartbeattest.NewHost(t, "node2", ss).Run()
		bs := views(ss)
		bs[1].(*heartbeattest.MemoryView).Fail(errors.New("input/output error"), heartbeattest.OpReadRecord)
		_, err := check(t, guard(bs, &testLog{}), vm1, 150*time.Millisecond)
		if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "node2: its record was read on 1 of its 2 heartbeat backends") ||
			!strings.Contains(err.Error(), "file:///hb1: input/output error") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("no record readable", func(t *testing.T) {
		ss := stores(1)
		heartbeattest.NewHost(t, "node2", ss).Run()
		bs := views(ss)
		bs[0].(*heartbeattest.MemoryView).Hang(true, heartbeattest.OpReadRecord)
		_, err := check(t, guard(bs, &testLog{}), vm1, 150*time.Millisecond)
		if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "no record of node2 could be read") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("a corrupt record", func(t *testing.T) {
		ss := stores(1)
		ss[0].PutRecord("node2", []byte("KVHB\x01B\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00{}"))
		_, err := check(t, guard(views(ss), &testLog{}), vm1, 150*time.Millisecond)
		if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "corrupt record of node2") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("the hosts cannot be listed", func(t *testing.T) {
		ss := stores(2)
		bs := views(ss)
		bs[0].(*heartbeattest.MemoryView).Fail(errors.New("permission denied"), heartbeattest.OpHosts)
		_, err := check(t, guard(bs, &testLog{}), vm1, 150*time.Millisecond)
		if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "cannot be listed") ||
			!strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("the guard reads too few of a host's backends", func(t *testing.T) {
		ss := stores(2)
		heartbeattest.NewHost(t, "node2", ss).Run()
		_, err := check(t, guard(views(ss[:1]), &testLog{}), vm1, 150*time.Millisecond)
		if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "too few of them are this host's") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("a majority of three is enough", func(t *testing.T) {
		ss := stores(3)
		heartbeattest.NewHost(t, "node2", ss).Run()
		bs := views(ss)
		bs[2].(*heartbeattest.MemoryView).Fail(errors.New("gone"))
		if _, err := check(t, guard(bs, &testLog{}), vm1, time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

func TestInUseWithoutBackends(t *testing.T) {
	if err := (&heartbeat.InUse{}).Check(context.Background(), vm1); err != nil {
		t.Fatal(err)
	}
}
