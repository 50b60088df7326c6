package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Log is where the daemon reports; it must not block.
type Log interface {
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
}

// GuestSource lists the running guests with their block I/O counters.
type GuestSource interface {
	Guests(ctx context.Context) ([]Guest, error)
}

// DiskLister is a GuestSource whose guests carry their disks: the record
// says so (Record.GuestDisks).
type DiskLister interface {
	ListsDisks() bool
}

// Deps are the daemon's connections to the world, injected so that tests
// run it against in-memory backends, a fake watchdog and a fake fence.
type Deps struct {
	// Backends, in the order of Config.Backends.
	Backends []Backend
	// OpenWatchdog arms the watchdog; called once, when first healthy.
	OpenWatchdog func() (Watchdog, error)
	SelfFence    SelfFencer
	Guests       GuestSource                        // nil: no guests
	Addrs        func(ctx context.Context) []string // nil: no Ceph addresses
	// SetAttribute sets the storage attribute, dampened by dampen (see updateAttribute).
	SetAttribute func(ctx context.Context, name, value string, dampen time.Duration) error // nil: none
	Log          Log
	Now          func() time.Duration // BootTime
	Wall         func() time.Time
	BootID       string
	PID          int
}

// Daemon writes this host's record to every backend, watches its message
// slot, feeds the watchdog while healthy, and observes the other hosts.
type Daemon struct {
	cfg    Config
	deps   Deps
	uris   []string
	quorum int
	inc    uint64

	fencing atomic.Bool

	mu        sync.Mutex
	seq       uint64
	frame     []byte // the record the backend loops write next
	final     bool   // frame is a final one (the ack, stopped, or its revocation)
	finalGen  int    // counts final frames, so a late write of an earlier one is not taken for the current
	phase     string
	lastTick  time.Duration
	beState   []*backendState
	wd        Watchdog
	fed       bool // the watchdog was fed since it was armed (for logging)
	guests    []Guest
	disks     bool // the guests carry their disks
	addrs     []string
	attrValue string // what the storage attribute was last set to
	attrBusy  bool
	fence     *Ack
	peers     map[string]*Watch

	wake     []chan struct{} // one per backend loop: a new frame is there
	obsBusy  []atomic.Bool
	fenceOne sync.Once
	loops    sync.WaitGroup
}

type backendState struct {
	lastOK     time.Duration // start of the last beat that succeeded
	ok         bool
	err        error
	registered bool
	// wroteGen is the generation of the last final frame written here.
	wroteGen int
}

// New prepares a daemon; Run starts it.
func New(cfg Config, deps Deps) (*Daemon, error) {
	specs, err := cfg.Validate()
	if err != nil {
		return nil, err
	}
	if len(deps.Backends) != len(specs) {
		return nil, fmt.Errorf("%d backends opened for %d configured", len(deps.Backends), len(specs))
	}
	if deps.Now == nil {
		deps.Now = BootTime
	}
	if deps.Wall == nil {
		deps.Wall = time.Now
	}
	if deps.OpenWatchdog == nil {
		deps.OpenWatchdog = func() (Watchdog, error) { return noWatchdog{}, nil }
	}
	if deps.PID == 0 {
		deps.PID = os.Getpid()
	}
	d := &Daemon{
		cfg: cfg, deps: deps, uris: URIs(specs), quorum: Quorum(len(specs)),
		inc:   uint64(deps.Wall().UnixNano()),
		phase: PhaseStarting,
		peers: map[string]*Watch{},
	}
	if l, ok := deps.Guests.(DiskLister); ok {
		d.disks = l.ListsDisks()
	}
	for range specs {
		d.beState = append(d.beState, &backendState{})
		d.wake = append(d.wake, make(chan struct{}, 1))
	}
	d.obsBusy = make([]atomic.Bool, len(specs))
	return d, nil
}

// Incarnation identifies this run.
func (d *Daemon) Incarnation() uint64 { return d.inc }

// Run beats until ctx ends, then stops cleanly: it writes a "stopped"
// record to every backend and disarms the watchdog only if all took it.
// It returns an error when the stop could not be made clean (the watchdog
// is then left armed: the host will be reset).
func (d *Daemon) Run(ctx context.Context) error {
	loopCtx, stopLoops := context.WithCancel(context.Background())
	defer stopLoops()
	for i := range d.deps.Backends {
		d.loops.Add(1)
		go d.backendLoop(loopCtx, i)
	}
	go d.feedLoop(loopCtx)
	go d.observeLoop(loopCtx)

	d.tick(ctx)
	t := time.NewTicker(d.cfg.Interval.D())
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if d.fencing.Load() {
				d.writeState()
				continue
			}
			d.tick(ctx)
		case <-ctx.Done():
			if d.fencing.Load() {
				// A fence is under way: nothing may disarm the watchdog.
				return errors.New("stopped while fencing this host")
			}
			err := d.shutdown()
			stopLoops()
			return err
		}
	}
}

// tick makes the next record, hands it to the backend loops, and publishes
// the state.
func (d *Daemon) tick(ctx context.Context) {
	now := d.deps.Now()
	d.refreshGuests(ctx)
	d.refreshAddrs(ctx)
	d.mu.Lock()
	d.lastTick = now
	d.mu.Unlock()
	d.publish()
	d.afterBeat(ctx)
}

// publish makes the record of the next sequence number the one the backend
// loops write, and wakes them.
func (d *Daemon) publish() {
	d.mu.Lock()
	d.seq++
	rec := d.recordLocked(StateRunning)
	d.mu.Unlock()
	frame, err := EncodeRecord(rec)
	if err != nil {
		d.deps.Log.Errorf("cannot encode the record: %v", err)
		return
	}
	d.mu.Lock()
	if !d.final {
		d.frame = frame
	}
	d.mu.Unlock()
	d.wakeLoops()
}

// recordLocked builds the record for the current sequence number.
func (d *Daemon) recordLocked(state string) *Record {
	okCount := 0
	now := d.deps.Now()
	for _, b := range d.beState {
		if b.lastOK > 0 && now-b.lastOK < d.cfg.Timeout.D() {
			okCount++
		}
	}
	// A record promises a watchdog only once it is armed: until then (and
	// after a clean stop) staleness must prove nothing.
	var wd time.Duration
	if d.wd != nil && state != StateStopped {
		wd = d.wd.Timeout()
	}
	return &Record{
		Node: d.cfg.Node, Boot: d.deps.BootID, Incarnation: d.inc, Seq: d.seq,
		TimeMs: d.deps.Wall().UnixMilli(), IntervalMs: d.cfg.Interval.D().Milliseconds(),
		TimeoutMs: d.cfg.Timeout.D().Milliseconds(), WatchdogMs: wd.Milliseconds(),
		State: state, Backends: d.uris, BackendsOK: okCount, Addrs: d.addrs, Guests: d.guests,
		GuestDisks: d.disks, Ack: d.fence,
	}
}

func (d *Daemon) wakeLoops() {
	for _, w := range d.wake {
		select {
		case w <- struct{}{}:
		default: // the loop is busy; it takes the newest frame when it gets to it
		}
	}
}

// quorumOKLocked is the start of the newest beat that a quorum of backends
// took: the quorum-th most recent success. 0 when there was none.
func (d *Daemon) quorumOKLocked() time.Duration {
	oks := make([]time.Duration, 0, len(d.beState))
	for _, b := range d.beState {
		oks = append(oks, b.lastOK)
	}
	sort.Slice(oks, func(i, j int) bool { return oks[i] > oks[j] })
	if d.quorum == 0 || d.quorum > len(oks) {
		return 0
	}
	return oks[d.quorum-1]
}

// healthyLocked: not fencing, the main loop ticks, and a quorum of backends
// took a beat within the timeout.
func (d *Daemon) healthyLocked(now time.Duration) bool {
	if d.fencing.Load() || d.phase == PhaseStopping {
		return false
	}
	last := d.quorumOKLocked()
	to := d.cfg.Timeout.D()
	return last > 0 && now-last < to && now-d.lastTick < to
}

// afterBeat arms the watchdog once healthy, publishes the state and keeps
// the storage attribute current.
func (d *Daemon) afterBeat(ctx context.Context) {
	now := d.deps.Now()
	d.mu.Lock()
	healthy := d.healthyLocked(now)
	arm := healthy && d.wd == nil
	if healthy && d.phase == PhaseStarting {
		d.phase = PhaseRunning
	}
	d.mu.Unlock()
	if arm {
		wd, err := d.deps.OpenWatchdog()
		if err != nil {
			d.deps.Log.Errorf("cannot arm the watchdog %s: %v", d.cfg.WatchdogDevice, err)
		} else {
			d.mu.Lock()
			d.wd = wd
			d.mu.Unlock()
			d.deps.Log.Infof("healthy: watchdog %s armed (timeout %s)", wd, wd.Timeout())
			d.publish() // the promise of a watchdog goes out now, not a beat later
		}
	}
	d.writeState()
	d.updateAttribute(ctx)
}

// feedLoop feeds the watchdog several times per watchdog timeout, only
// while healthy.
func (d *Daemon) feedLoop(ctx context.Context) {
	period := min(d.cfg.Interval.D(), d.cfg.WatchdogTimeout.D()/4)
	period = max(period, 100*time.Millisecond)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.feedOnce()
		}
	}
}

func (d *Daemon) feedOnce() {
	now := d.deps.Now()
	d.mu.Lock()
	wd, healthy, fed := d.wd, d.healthyLocked(now), d.fed
	if wd != nil {
		d.fed = healthy
	}
	d.mu.Unlock()
	if wd == nil {
		return
	}
	if !healthy {
		if fed {
			d.deps.Log.Errorf("no quorum of backends for %s (or the daemon is stuck): no longer feeding the watchdog %s",
				d.cfg.Timeout.D(), wd)
		}
		return
	}
	if err := wd.Feed(); err != nil {
		d.deps.Log.Errorf("feeding the watchdog: %v", err)
	}
}

// storageValue is the storage attribute's value: "0" once a backend has taken no record
// for a whole timeout (its last write failed, and its last success is that old), else "1".
// A single failed write is not enough: an OSD restart answers some clients' writes with an
// error at once while others only wait, and one host at 0 beside the others at 1 moves
// every guest off it, into the same outage (found by the fault campaign, seed 20261206
// fault 20: three guests migrating off one host during an OSD restart, their qemus stuck).
func storageValue(states []*backendState, now, timeout time.Duration) string {
	for _, b := range states {
		if !b.ok && (b.lastOK == 0 || now-b.lastOK >= timeout) {
			return "0"
		}
	}
	return "1"
}

// updateAttribute sets the storage attribute when its value changes: 1
// while every backend takes the record, 0 when one has taken none for a
// timeout (see storageValue). It runs in the
// background: attrd may be slow and the beat must not wait. The change is
// dampened by the heartbeat's timeout: when the storage fails for every host
// at once (a Ceph restart), each daemon notices within a timeout of the
// others, and the scheduler must see all of them at 0 together, not one host
// at 0 beside others still at 1, which would move every guest off it (found by
// the fault campaign: a mass migration into a storage outage).
func (d *Daemon) updateAttribute(ctx context.Context) {
	if d.cfg.StorageAttribute == "" || d.deps.SetAttribute == nil {
		return
	}
	d.mu.Lock()
	value := storageValue(d.beState, d.deps.Now(), d.cfg.Timeout.D())
	if d.phase == PhaseStarting || value == d.attrValue || d.attrBusy {
		d.mu.Unlock()
		return
	}
	d.attrBusy = true
	d.mu.Unlock()
	go func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err := d.deps.SetAttribute(actx, d.cfg.StorageAttribute, value, d.cfg.Timeout.D())
		d.mu.Lock()
		d.attrBusy = false
		if err == nil {
			d.attrValue = value
		}
		d.mu.Unlock()
		if err != nil {
			d.deps.Log.Warnf("setting node attribute %s=%s: %v", d.cfg.StorageAttribute, value, err)
		} else {
			d.deps.Log.Infof("node attribute %s=%s", d.cfg.StorageAttribute, value)
		}
	}()
}

// refreshGuests lists the guests within half an interval; on failure the
// previous list stays (and says nothing new about I/O).
func (d *Daemon) refreshGuests(ctx context.Context) {
	if d.deps.Guests == nil {
		return
	}
	gctx, cancel := context.WithTimeout(ctx, d.cfg.Interval.D()/2)
	defer cancel()
	gs, err := d.deps.Guests.Guests(gctx)
	if err != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	prev := map[string]*GuestIO{}
	for _, g := range d.guests {
		prev[g.Name] = g.IO
	}
	for i := range gs {
		if io, p := gs[i].IO, prev[gs[i].Name]; io != nil && p != nil {
			io.Moving = io.RdReqs != p.RdReqs || io.WrReqs != p.WrReqs
		}
	}
	d.guests = gs
}

// addrsEvery is how many beats pass between queries of the Ceph addresses.
const addrsEvery = 30

func (d *Daemon) refreshAddrs(ctx context.Context) {
	d.mu.Lock()
	due := d.seq%addrsEvery == 0 || d.addrs == nil
	d.mu.Unlock()
	if d.deps.Addrs == nil || !due {
		return
	}
	actx, cancel := context.WithTimeout(ctx, d.cfg.Interval.D()/2)
	defer cancel()
	if a := d.deps.Addrs(actx); a != nil {
		d.mu.Lock()
		d.addrs = a
		d.mu.Unlock()
	}
}
