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

type fakeWatchdog struct {
	mu       sync.Mutex
	feeds    int
	disarmed bool
}

func (w *fakeWatchdog) Feed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.feeds++
	return nil
}

func (w *fakeWatchdog) Disarm() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.disarmed = true
	return nil
}

func (w *fakeWatchdog) Timeout() time.Duration { return time.Second }

func (w *fakeWatchdog) String() string { return "fake" }

func (w *fakeWatchdog) fed() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.feeds
}

type testLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *testLog) add(level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+": "+fmt.Sprintf(format, args...))
}

func (l *testLog) Infof(f string, a ...any) { l.add("INFO", f, a...) }

func (l *testLog) Warnf(f string, a ...any) { l.add("WARN", f, a...) }

func (l *testLog) Errorf(f string, a ...any) { l.add("ERROR", f, a...) }

func (l *testLog) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.lines {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

type daemonHarness struct {
	t      *testing.T
	cfg    heartbeat.Config
	stores []*heartbeattest.MemoryStore
	views  []*heartbeattest.MemoryView
	d      *heartbeat.Daemon
	wd     *fakeWatchdog
	log    *testLog
	fenced chan string
	attrs  chan string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func newDaemonHarness(t *testing.T, backends int, mutate func(*heartbeat.Config, *heartbeat.Deps)) *daemonHarness {
	t.Helper()
	h := &daemonHarness{t: t, cfg: heartbeat.SampleConfig(t, backends), wd: &fakeWatchdog{}, log: &testLog{},
		fenced: make(chan string, 4), attrs: make(chan string, 100)}
	deps := heartbeat.Deps{
		OpenWatchdog: func() (heartbeat.Watchdog, error) { return h.wd, nil },
		SelfFence:    func(_ context.Context, cmd string) error { h.fenced <- cmd; return nil },
		SetAttribute: func(_ context.Context, name, value string, _ time.Duration) error {
			h.attrs <- name + "=" + value
			return nil
		},
		Log:    h.log,
		BootID: "boot-1",
	}
	for i := 0; i < backends; i++ {
		st := heartbeattest.NewMemoryStore(h.cfg.Backends[i])
		h.stores = append(h.stores, st)
		h.views = append(h.views, st.View())
		deps.Backends = append(deps.Backends, h.views[i])
	}
	if mutate != nil {
		mutate(&h.cfg, &deps)
	}
	d, err := heartbeat.New(h.cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	h.d = d
	return h
}

func (h *daemonHarness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() { h.err = h.d.Run(ctx); close(h.done) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
		}
	})
}

func (h *daemonHarness) stop() error {
	h.cancel()
	select {
	case <-h.done:
		return h.err
	case <-time.After(5 * time.Second):
		h.t.Fatal("Run did not return")
		return nil
	}
}

func (h *daemonHarness) record(i int) *heartbeat.Record {
	data := h.stores[i].Record("node1")
	if data == nil {
		return nil
	}
	r, err := heartbeat.DecodeRecord(data)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func (h *daemonHarness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; log:\n%s", what, strings.Join(h.log.lines, "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *daemonHarness) state() *heartbeat.State {
	st, err := heartbeat.ReadState(h.cfg.StateDir)
	if err != nil {
		return &heartbeat.State{}
	}
	return st
}

func (h *daemonHarness) healthy() bool { st := h.state(); return st.Healthy && st.WatchdogArmed }

func (h *daemonHarness) waitAttr(want string) {
	h.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case got := <-h.attrs:
			if got == want {
				return
			}
		case <-deadline:
			h.t.Fatalf("attribute never became %s", want)
		}
	}
}

func TestDaemonBeatsArmsFeedsAndStopsCleanly(t *testing.T) {
	h := newDaemonHarness(t, 2, nil)
	h.start()
	h.waitFor("healthy and armed", h.healthy)
	h.waitAttr("kvmha-storage=1")
	first := h.record(0).Seq
	h.waitFor("beats", func() bool { return h.record(0).Seq > first+2 && h.record(1).Seq > first+2 })
	h.waitFor("feeding", func() bool { return h.wd.fed() > 2 })
	r := h.record(1)
	if r.State != heartbeat.StateRunning || r.WatchdogMs != 1000 || r.BackendsOK != 2 || r.Boot != "boot-1" || r.Incarnation != h.d.Incarnation() {
		t.Fatalf("record %+v", r)
	}
	st := h.state()
	if st.Phase != heartbeat.PhaseRunning || st.Quorum != 1 || len(st.Backends) != 2 || !st.Backends[0].OK || st.PID == 0 {
		t.Fatalf("state %+v", st)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	for i := range h.stores {
		if r := h.record(i); r.State != heartbeat.StateStopped || r.WatchdogMs != 0 {
			t.Fatalf("final record on %d: %+v", i, r)
		}
	}
	if !h.wd.disarmed {
		t.Fatal("watchdog not disarmed after a clean stop")
	}
	if st := h.state(); st.Phase != heartbeat.PhaseStopping || st.Healthy {
		t.Fatalf("state after stop %+v", st)
	}
}

func TestDaemonQuorumOfTwo(t *testing.T) {
	h := newDaemonHarness(t, 2, nil)
	h.start()
	h.waitFor("healthy", h.healthy)
	h.waitAttr("kvmha-storage=1")
	h.views[1].Fail(errors.New("EIO"), heartbeattest.OpWriteRecord)
	h.waitAttr("kvmha-storage=0")
	time.Sleep(2 * h.cfg.Timeout.D())
	if !h.state().Healthy {
		t.Fatal("one of two backends lost: no longer healthy")
	}
	if !h.log.has("EIO") {
		t.Fatal("the failure was not logged")
	}
	// Both lost: unhealthy within the timeout, and the feeding stops.
	h.views[0].Hang(true, heartbeattest.OpWriteRecord)
	h.waitFor("unhealthy", func() bool { return !h.state().Healthy })
	h.waitFor("the feeding to stop", func() bool { return h.log.has("no longer feeding") })
	fed := h.wd.fed()
	time.Sleep(3 * h.cfg.Interval.D())
	if h.wd.fed() != fed {
		t.Fatal("the watchdog was fed without a quorum")
	}
	// Back: healthy and fed again.
	h.views[0].Hang(false)
	h.views[1].Fail(nil)
	h.waitFor("healthy again", func() bool { return h.state().Healthy })
	h.waitFor("feeding again", func() bool { return h.wd.fed() > fed })
	h.waitAttr("kvmha-storage=1")
}

func TestDaemonMajorityOfThree(t *testing.T) {
	h := newDaemonHarness(t, 3, nil)
	h.start()
	h.waitFor("healthy", h.healthy)
	h.views[0].Fail(errors.New("down"))
	time.Sleep(2 * h.cfg.Timeout.D())
	if !h.state().Healthy {
		t.Fatal("2 of 3 is a majority")
	}
	h.views[1].Fail(errors.New("down"))
	h.waitFor("unhealthy with 1 of 3", func() bool { return !h.state().Healthy })
	if err := h.stop(); !errors.Is(err, heartbeat.ErrNotClean) {
		t.Fatalf("stop with backends down: %v", err)
	}
	if h.wd.disarmed {
		t.Fatal("disarmed although two backends still say running")
	}
	// The backend that took "stopped" has it revoked: the watchdog stays armed.
	if r := h.record(2); r.State != heartbeat.StateRunning || r.WatchdogMs == 0 {
		t.Fatalf("stop not revoked: %+v", r)
	}
}

func TestDaemonNeverHealthyStopsWithoutArming(t *testing.T) {
	h := newDaemonHarness(t, 1, nil)
	h.views[0].Fail(errors.New("no such pool"))
	h.start()
	h.waitFor("a state", func() bool {
		return h.state().Phase == heartbeat.PhaseStarting && len(h.state().Backends) == 1 && h.state().Backends[0].Error != ""
	})
	if h.state().WatchdogArmed || h.state().Healthy {
		t.Fatal("armed without a quorum")
	}
	if err := h.stop(); err != nil {
		t.Fatalf("stop of a daemon that never armed: %v", err)
	}
}

func sendMessage(t *testing.T, st *heartbeattest.MemoryStore, inc uint64, cmd string) *heartbeat.Message {
	t.Helper()
	m := &heartbeat.Message{ID: "00112233445566778899", To: "node1", Cmd: cmd, Incarnation: inc, From: "node2"}
	data, err := heartbeat.EncodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.View().WriteMessage(context.Background(), "node1", data); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDaemonFenceMessage(t *testing.T) {
	h := newDaemonHarness(t, 2, nil)
	h.start()
	h.waitFor("healthy", h.healthy)
	// A message for another run of the daemon is a leftover: ignored.
	sendMessage(t, h.stores[0], h.d.Incarnation()-1, heartbeat.CmdReboot)
	time.Sleep(5 * h.cfg.Interval.D())
	select {
	case cmd := <-h.fenced:
		t.Fatalf("fenced (%s) on a message for another incarnation", cmd)
	default:
	}
	// The rados-like backend hangs; the message arrives through the other.
	h.views[0].Hang(true)
	m := sendMessage(t, h.stores[1], h.d.Incarnation(), heartbeat.CmdOff)
	select {
	case cmd := <-h.fenced:
		if cmd != heartbeat.CmdOff {
			t.Fatalf("fenced with %s", cmd)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no self-fence")
	}
	r := h.record(1)
	if r.State != heartbeat.StateFencing || r.Ack == nil || r.Ack.ID != m.ID || r.Ack.From != "node2" {
		t.Fatalf("ack record %+v", r)
	}
	fed := h.wd.fed()
	time.Sleep(3 * h.cfg.Interval.D())
	if h.wd.fed() != fed {
		t.Fatal("the watchdog is still fed while fencing")
	}
	if st := h.state(); st.Phase != heartbeat.PhaseFencing || st.Fence == nil || st.Healthy {
		t.Fatalf("state %+v", st)
	}
	if seq := h.record(1).Seq; seq != r.Seq {
		t.Fatal("records still written after the ack")
	}
	if err := h.stop(); err == nil {
		t.Fatal("a stop while fencing must not be clean")
	}
	if h.wd.disarmed {
		t.Fatal("disarmed while fencing")
	}
}

func TestDaemonSelfFenceFailure(t *testing.T) {
	h := newDaemonHarness(t, 1, func(_ *heartbeat.Config, d *heartbeat.Deps) {
		d.SelfFence = func(context.Context, string) error { return errors.New("no sysrq") }
	})
	h.start()
	h.waitFor("healthy", h.healthy)
	sendMessage(t, h.stores[0], h.d.Incarnation(), heartbeat.CmdReboot)
	h.waitFor("the failure logged", func() bool { return h.log.has("self-fence failed: no sysrq") })
}

type fakeGuests struct {
	mu   sync.Mutex
	gs   []heartbeat.Guest
	fail bool
}

func (f *fakeGuests) Guests(context.Context) ([]heartbeat.Guest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return nil, errors.New("libvirtd away")
	}
	out := make([]heartbeat.Guest, len(f.gs))
	for i, g := range f.gs {
		out[i] = g
		if g.IO != nil {
			io := *g.IO
			out[i].IO = &io
		}
	}
	return out, nil
}

func (f *fakeGuests) set(wr uint64, fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gs = []heartbeat.Guest{{Name: "vm1", IO: &heartbeat.GuestIO{WrReqs: wr}}, {Name: "vm2"}}
	f.fail = fail
}

func TestDaemonGuestsAndAddrs(t *testing.T) {
	g := &fakeGuests{}
	g.set(1, false)
	h := newDaemonHarness(t, 1, func(_ *heartbeat.Config, d *heartbeat.Deps) {
		d.Guests = g
		d.Addrs = func(context.Context) []string { return []string{"10.0.0.1:0/7"} }
	})
	h.start()
	h.waitFor("guests", func() bool { r := h.record(0); return r != nil && len(r.Guests) == 2 })
	if r := h.record(0); r.Guests[0].IO.Moving || r.Addrs[0] != "10.0.0.1:0/7" || r.GuestDisks {
		t.Fatalf("%+v", r)
	}
	g.set(5, false)
	h.waitFor("I/O moving", func() bool { r := h.record(0); return r.Guests[0].IO != nil && r.Guests[0].IO.Moving })
	h.waitFor("I/O idle", func() bool { r := h.record(0); return !r.Guests[0].IO.Moving })
	g.set(9, true)
	time.Sleep(3 * h.cfg.Interval.D())
	if r := h.record(0); len(r.Guests) != 2 {
		t.Fatal("a failed listing dropped the guests")
	}
}

// diskGuests lists guests with their disks: the record says so.
type diskGuests struct{ fakeGuests }

func (*diskGuests) ListsDisks() bool { return true }

func TestDaemonSaysItsGuestsCarryTheirDisks(t *testing.T) {
	g := &diskGuests{fakeGuests{gs: []heartbeat.Guest{{Name: "vm1", Disks: []heartbeat.Disk{{Target: "vda", Kind: heartbeat.DiskFile, Source: "/shared/vm1.img"}}}}}}
	h := newDaemonHarness(t, 1, func(_ *heartbeat.Config, d *heartbeat.Deps) { d.Guests = g })
	h.start()
	h.waitFor("guests", func() bool { r := h.record(0); return r != nil && len(r.Guests) == 1 })
	if r := h.record(0); !r.GuestDisks || r.Guests[0].Disks[0].Source != "/shared/vm1.img" {
		t.Fatalf("%+v", r)
	}
}

func TestDaemonObservesPeers(t *testing.T) {
	h := newDaemonHarness(t, 2, nil)
	peer := heartbeat.PeerRecord(3, 1, h.cfg.Backends...)
	peer.Node = "node2"
	data, _ := heartbeat.EncodeRecord(peer)
	h.stores[0].PutRecord("node2", data)
	h.start()
	h.waitFor("node2 observed", func() bool {
		ss := h.state().SightingsOf("node2")
		return len(ss) == 1 && ss[0].Incarnation == 3
	})
	st := h.state()
	if len(st.Peers) != 1 || st.Peers[0].Record == nil || st.Peers[0].Record.Node != "node2" {
		t.Fatalf("peers %+v", st.Peers)
	}
	if st.SightingsOf("node9") != nil {
		t.Fatal("sightings of nobody")
	}
}

func TestDaemonWatchdogAndAttributeFailures(t *testing.T) {
	calls := 0
	var mu sync.Mutex
	h := newDaemonHarness(t, 1, func(_ *heartbeat.Config, d *heartbeat.Deps) {
		d.OpenWatchdog = func() (heartbeat.Watchdog, error) { return nil, errors.New("no device") }
		d.SetAttribute = func(context.Context, string, string, time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			return errors.New("attrd away")
		}
	})
	h.start()
	h.waitFor("the watchdog error", func() bool { return h.log.has("cannot arm the watchdog") })
	h.waitFor("attribute retried", func() bool { mu.Lock(); defer mu.Unlock(); return calls >= 2 })
	if !h.log.has("attrd away") {
		t.Fatal("attribute failure not logged")
	}
}

func TestNewRejects(t *testing.T) {
	cfg := heartbeat.SampleConfig(t, 2)
	if _, err := heartbeat.New(cfg, heartbeat.Deps{Backends: []heartbeat.Backend{heartbeattest.NewMemoryStore("x").View()}}); err == nil {
		t.Fatal("1 backend opened for 2")
	}
	cfg.Node = ""
	if _, err := heartbeat.New(cfg, heartbeat.Deps{}); err == nil {
		t.Fatal("invalid config")
	}
}
