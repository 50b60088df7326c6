package heartbeat_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/heartbeattest"
)

// The start guard against in-memory backends, with hosts whose heartbeat
// beats every 20 ms, times out after 100 ms and announces a 100 ms watchdog:
// with the 20 ms margin, 220 ms of silence prove a host dead.
const (
	beat     = 20 * time.Millisecond
	hbLimit  = 220 * time.Millisecond
	useUUID  = "6f1c2a3e-0000-4000-8000-0000000000a1"
	otherVM  = "11111111-0000-4000-8000-000000000002"
	diskPath = "/shared/vm1.img"
)

// host plays another host's heartbeat daemon: it writes its record to
// every store each beat until stopped.
type host struct {
	t      *testing.T
	node   string
	stores []*heartbeattest.MemoryStore

	mu     sync.Mutex
	rec    heartbeat.Record
	cancel context.CancelFunc
	done   chan struct{}
}

func newHost(t *testing.T, node string, stores []*heartbeattest.MemoryStore, guests ...heartbeat.Guest) *host {
	var uris []string
	for _, s := range stores {
		uris = append(uris, s.URI())
	}
	h := &host{t: t, node: node, stores: stores, rec: heartbeat.Record{
		Node: node, Boot: "boot-1", Incarnation: 1, IntervalMs: beat.Milliseconds(), TimeoutMs: 100, WatchdogMs: 100,
		State: heartbeat.StateRunning, Backends: uris, BackendsOK: len(uris), Guests: guests, GuestDisks: true,
	}}
	return h
}

// write writes the record once with the next sequence number.
func (h *host) write() {
	h.mu.Lock()
	h.rec.Seq++
	r := h.rec
	h.mu.Unlock()
	data, err := heartbeat.EncodeRecord(&r)
	if err != nil {
		h.t.Error(err)
		return
	}
	for _, s := range h.stores {
		s.PutRecord(h.node, data)
	}
}

// run beats until stop.
func (h *host) run() *host {
	h.write()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() {
		defer close(h.done)
		t := time.NewTicker(beat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				h.write()
			}
		}
	}()
	h.t.Cleanup(h.stop)
	return h
}

// stop ends the beats: the host is silent (dead, or cut off).
func (h *host) stop() {
	if h.cancel != nil {
		h.cancel()
		<-h.done
		h.cancel = nil
	}
}

func (h *host) set(f func(r *heartbeat.Record)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(&h.rec)
}

type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) add(level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, level+": "+fmt.Sprintf(format, args...))
}
func (l *lines) Infof(format string, args ...any)  { l.add("info", format, args...) }
func (l *lines) Warnf(format string, args ...any)  { l.add("warn", format, args...) }
func (l *lines) Errorf(format string, args ...any) { l.add("error", format, args...) }
func (l *lines) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.all {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

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

func guard(bs []heartbeat.Backend, log *lines) *heartbeat.InUse {
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
	newHost(t, "node2", ss, heartbeat.Guest{Name: "vm7", UUID: otherVM,
		Disks: []heartbeat.Disk{{Target: "vda", Kind: heartbeat.DiskFile, Source: "/shared/vm7.img"}}}).run()
	newHost(t, "node3", ss).run()
	log := &lines{}
	took, err := check(t, guard(views(ss), log), vm1, 2*time.Second)
	if err != nil || took > 200*time.Millisecond {
		t.Fatalf("%v after %s", err, took)
	}
	if !log.has("this node (node1) has no record") {
		t.Fatalf("no warning that this node has no record: %q", log.all)
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
			newHost(t, "node2", ss, guest).run()
			took, err := check(t, guard(views(ss), &lines{}), vm1, 3*time.Second)
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
	h := newHost(t, "node2", ss, heartbeat.Guest{Name: "vm7", UUID: otherVM})
	h.set(func(r *heartbeat.Record) { r.GuestDisks = false })
	h.run()
	_, err := check(t, guard(views(ss), &lines{}), vm1, 3*time.Second)
	if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "older kvmha") {
		t.Fatalf("%v", err)
	}
	// A domain without writable disks has nothing to fear from its guests' disks.
	if _, err := check(t, guard(views(ss), &lines{}), heartbeat.Use{Name: "vm2", Disks: vm1.Disks[1:]}, time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestInUseGuestsLeftOutOfTheRecord(t *testing.T) {
	ss := stores(1)
	h := newHost(t, "node2", ss)
	h.set(func(r *heartbeat.Record) { r.GuestsMore = 3 })
	h.run()
	_, err := check(t, guard(views(ss), &lines{}), heartbeat.Use{Name: "vm2"}, 3*time.Second)
	if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "3 guests its record leaves out") {
		t.Fatalf("%v", err)
	}
}

// Shareable and read-only disks are no conflict, on either side.
func TestInUseIgnoresSharedAndReadOnlyDisks(t *testing.T) {
	ss := stores(1)
	newHost(t, "node2", ss, heartbeat.Guest{Name: "vm7", UUID: otherVM, Disks: []heartbeat.Disk{
		{Target: "sda", Kind: heartbeat.DiskFile, Source: "/iso/debian.iso", ReadOnly: true},
		{Target: "vdb", Kind: heartbeat.DiskFile, Source: "/shared/cluster.img", Shareable: true},
		{Target: "vdc", Kind: heartbeat.DiskFile, Source: "/shared/quorum.img"},
	}}).run()
	u := heartbeat.Use{Name: "vm1", Disks: []heartbeat.Disk{
		{Kind: heartbeat.DiskFile, Source: "/iso/debian.iso"},
		{Kind: heartbeat.DiskFile, Source: "/shared/cluster.img", Shareable: true},
		{Kind: heartbeat.DiskFile, Source: "/shared/quorum.img", ReadOnly: true},
	}}
	if took, err := check(t, guard(views(ss), &lines{}), u, 2*time.Second); err != nil || took > 200*time.Millisecond {
		t.Fatalf("%v after %s", err, took)
	}
}

// This host's own record and the migration source's are not looked at.
func TestInUseIgnoresSelfAndTheMigrationPeer(t *testing.T) {
	ss := stores(1)
	newHost(t, "node1", ss, runningVM1()).run()
	newHost(t, "node2", ss, runningVM1()).run()
	g := guard(views(ss), &lines{})
	g.Ignore = []string{"node2"}
	if took, err := check(t, g, vm1, 2*time.Second); err != nil || took > 200*time.Millisecond {
		t.Fatalf("%v after %s", err, took)
	}
}

// A host that stopped beating while it listed the domain is waited for
// until its silence proves it dead, then the start goes on.
func TestInUseWaitsForASilentHostToBeProvenDead(t *testing.T) {
	ss := stores(2)
	h := newHost(t, "node2", ss, runningVM1()).run()
	h.stop()
	log := &lines{}
	took, err := check(t, guard(views(ss), log), vm1, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if took < hbLimit-50*time.Millisecond || took > 2*time.Second {
		t.Fatalf("proceeded after %s; proof takes %s", took, hbLimit)
	}
	if !log.has("is silent, but not yet proven dead") || !log.has("is proven dead") {
		t.Fatalf("log %q", log.all)
	}
}

// The start's deadline ends the wait: refused, saying why.
func TestInUseSilentHostBeyondTheDeadline(t *testing.T) {
	ss := stores(1)
	h := newHost(t, "node2", ss, runningVM1()).run()
	h.stop()
	took, err := check(t, guard(views(ss), &lines{}), vm1, 120*time.Millisecond)
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
	h := newHost(t, "node2", ss, runningVM1())
	h.write()
	g := guard(views(ss), &lines{})
	g.Seeds = map[string][]heartbeat.Sighting{"node2": {{URI: ss[0].URI(), Incarnation: 1, Seq: 1, ChangedAt: heartbeat.BootTime() - time.Second}}}
	if took, err := check(t, g, vm1, 2*time.Second); err != nil || took > 100*time.Millisecond {
		t.Fatalf("%v after %s", err, took)
	}
}

// A host that came back (a new incarnation) without the domain no longer
// stands in the way, before its old silence would have proved anything.
func TestInUseNewIncarnationWithoutTheDomain(t *testing.T) {
	ss := stores(1)
	h := newHost(t, "node2", ss, runningVM1()).run()
	h.stop()
	go func() {
		time.Sleep(50 * time.Millisecond)
		h.set(func(r *heartbeat.Record) { r.Incarnation, r.Seq, r.Guests = 2, 0, nil })
		h.run()
	}()
	took, err := check(t, guard(views(ss), &lines{}), vm1, 3*time.Second)
	if err != nil || took > hbLimit {
		t.Fatalf("%v after %s", err, took)
	}
}

// A live host's record may still list a domain Pacemaker just stopped
// there: the start waits for its next beats, and goes on once they do not.
func TestInUseLiveHostStopsListingIt(t *testing.T) {
	ss := stores(1)
	h := newHost(t, "node2", ss, runningVM1())
	h.write()
	go func() {
		time.Sleep(5 * time.Millisecond)
		h.set(func(r *heartbeat.Record) { r.Guests = nil })
		h.run()
	}()
	if _, err := check(t, guard(views(ss), &lines{}), vm1, 3*time.Second); err != nil {
		t.Fatal(err)
	}
}

// A host rebooted and runs the domain again: its new life counts.
func TestInUseRebootedHostRunsItAgain(t *testing.T) {
	ss := stores(1)
	h := newHost(t, "node2", ss, runningVM1())
	h.write()
	go func() {
		time.Sleep(30 * time.Millisecond)
		h.set(func(r *heartbeat.Record) { r.Boot, r.Incarnation, r.Seq = "boot-2", 2, 0 })
		h.run()
	}()
	log := &lines{}
	took, err := check(t, guard(views(ss), log), vm1, 3*time.Second)
	if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "in use: node2 runs domain vm1 (its heartbeat is alive)") ||
		log.has("proven dead") || took > time.Second {
		t.Fatalf("%v after %s; log %q", err, took, log.all)
	}
}

func TestInUseStoppedHeartbeatIsIgnored(t *testing.T) {
	ss := stores(1)
	h := newHost(t, "node2", ss, runningVM1())
	h.set(func(r *heartbeat.Record) { r.State, r.WatchdogMs = heartbeat.StateStopped, 0 })
	h.write()
	log := &lines{}
	if took, err := check(t, guard(views(ss), log), vm1, 2*time.Second); err != nil || took > 100*time.Millisecond {
		t.Fatalf("%v after %s", err, took)
	}
	if !log.has("stopped cleanly") {
		t.Fatalf("log %q", log.all)
	}
}

func TestInUseFencingHostIsNoObstacle(t *testing.T) {
	ss := stores(1)
	h := newHost(t, "node2", ss, runningVM1())
	h.set(func(r *heartbeat.Record) {
		r.State, r.Ack = heartbeat.StateFencing, &heartbeat.Ack{ID: "0123456789abcdef", Cmd: heartbeat.CmdOff, From: "node3"}
	})
	h.run()
	if took, err := check(t, guard(views(ss), &lines{}), vm1, 2*time.Second); err != nil || took > 100*time.Millisecond {
		t.Fatalf("%v after %s", err, took)
	}
}

// Without a watchdog, silence proves nothing: the wait ends with the
// deadline, and the start is refused.
func TestInUseSilentHostWithoutWatchdog(t *testing.T) {
	ss := stores(1)
	h := newHost(t, "node2", ss, runningVM1())
	h.set(func(r *heartbeat.Record) { r.WatchdogMs = 0 })
	h.run()
	h.stop()
	_, err := check(t, guard(views(ss), &lines{}), vm1, 400*time.Millisecond)
	if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "runs no watchdog") {
		t.Fatalf("%v", err)
	}
}

// What cannot be read is never taken for "nothing there".
func TestInUseUnreadableBackends(t *testing.T) {
	t.Run("a record read fails", func(t *testing.T) {
		ss := stores(2)
		newHost(t, "node2", ss).run()
		bs := views(ss)
		bs[1].(*heartbeattest.MemoryView).Fail(errors.New("input/output error"), heartbeattest.OpReadRecord)
		_, err := check(t, guard(bs, &lines{}), vm1, 150*time.Millisecond)
		if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "node2: its record was read on 1 of its 2 heartbeat backends") ||
			!strings.Contains(err.Error(), "file:///hb1: input/output error") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("no record readable", func(t *testing.T) {
		ss := stores(1)
		newHost(t, "node2", ss).run()
		bs := views(ss)
		bs[0].(*heartbeattest.MemoryView).Hang(true, heartbeattest.OpReadRecord)
		_, err := check(t, guard(bs, &lines{}), vm1, 150*time.Millisecond)
		if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "no record of node2 could be read") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("a corrupt record", func(t *testing.T) {
		ss := stores(1)
		ss[0].PutRecord("node2", []byte("KVHB\x01B\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00{}"))
		_, err := check(t, guard(views(ss), &lines{}), vm1, 150*time.Millisecond)
		if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "corrupt record of node2") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("the hosts cannot be listed", func(t *testing.T) {
		ss := stores(2)
		bs := views(ss)
		bs[0].(*heartbeattest.MemoryView).Fail(errors.New("permission denied"), heartbeattest.OpHosts)
		_, err := check(t, guard(bs, &lines{}), vm1, 150*time.Millisecond)
		if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "cannot be listed") ||
			!strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("the guard reads too few of a host's backends", func(t *testing.T) {
		ss := stores(2)
		newHost(t, "node2", ss).run()
		_, err := check(t, guard(views(ss[:1]), &lines{}), vm1, 150*time.Millisecond)
		if !errors.Is(err, heartbeat.ErrInUse) || !strings.Contains(err.Error(), "too few of them are this host's") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("a majority of three is enough", func(t *testing.T) {
		ss := stores(3)
		newHost(t, "node2", ss).run()
		bs := views(ss)
		bs[2].(*heartbeattest.MemoryView).Fail(errors.New("gone"))
		if _, err := check(t, guard(bs, &lines{}), vm1, time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

func TestInUseWithoutBackends(t *testing.T) {
	if err := (&heartbeat.InUse{}).Check(context.Background(), vm1); err != nil {
		t.Fatal(err)
	}
}
