package heartbeat

import (
	"context"
	"sort"
	"sync"
	"time"
)

// hostsEvery is how many observation rounds pass between listings of the
// hosts on each backend.
const hostsEvery = 10

// observeLoop reads the other hosts' records every interval, so that a
// fence agent on this host starts from when the daemon last saw a host's
// record change instead of from its own first read.
func (d *Daemon) observeLoop(ctx context.Context) {
	t := time.NewTicker(d.cfg.Interval.D())
	defer t.Stop()
	hosts := make([][]string, len(d.deps.Backends))
	for round := 0; ; round++ {
		var wg sync.WaitGroup
		for i, b := range d.deps.Backends {
			if !d.obsBusy[i].CompareAndSwap(false, true) {
				continue // the previous round is still reading this backend
			}
			wg.Go(func() {
				defer d.obsBusy[i].Store(false)
				octx, cancel := context.WithTimeout(ctx, d.cfg.Timeout.D())
				defer cancel()
				if round%hostsEvery == 0 || hosts[i] == nil {
					if hs, err := b.Hosts(octx); err == nil {
						hosts[i] = hs
					}
				}
				d.observe(octx, b, hosts[i])
			})
		}
		// Rounds wait for each other only within one interval.
		waitTimeout(&wg, d.cfg.Interval.D())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (d *Daemon) observe(ctx context.Context, b Backend, hosts []string) {
	for _, h := range hosts {
		if h == d.cfg.Node {
			continue
		}
		start := d.deps.Now()
		rec, err := ReadRecordOf(ctx, b, h)
		end := d.deps.Now()
		d.mu.Lock()
		w := d.peers[h]
		if w == nil {
			w = NewWatch(h)
			d.peers[h] = w
		}
		w.Observe(b.URI(), rec, err, start, end)
		d.mu.Unlock()
	}
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// writeState publishes the daemon's state file.
func (d *Daemon) writeState() {
	if err := WriteState(d.cfg.StateDir, d.State()); err != nil {
		d.deps.Log.Warnf("writing the state file: %v", err)
	}
}

// State is a snapshot of the daemon.
func (d *Daemon) State() *State {
	now := d.deps.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	s := &State{
		PID: d.deps.PID, Node: d.cfg.Node, Incarnation: d.inc, Seq: d.seq, Phase: d.phase,
		WrittenAt: now, Wall: d.deps.Wall(), Interval: d.cfg.Interval, Timeout: d.cfg.Timeout,
		Healthy: d.healthyLocked(now), Quorum: d.quorum, LastHealthy: d.quorumOKLocked(),
		Watchdog: d.cfg.WatchdogDevice, WatchdogArmed: d.wd != nil, Fence: d.fence,
		WatchdogTimeout: Duration(WatchdogAnnounced(d.cfg.WatchdogDevice, d.cfg.WatchdogTimeout.D())),
	}
	if d.wd != nil {
		s.WatchdogTimeout = Duration(d.wd.Timeout())
	}
	for i, b := range d.beState {
		bs := BackendState{URI: d.uris[i], OK: b.ok, LastOK: b.lastOK}
		if b.err != nil {
			bs.Error = b.err.Error()
		}
		s.Backends = append(s.Backends, bs)
	}
	for name, w := range d.peers {
		s.Peers = append(s.Peers, PeerState{Node: name, Sightings: w.Sightings(), Record: w.Latest()})
	}
	sort.Slice(s.Peers, func(i, j int) bool { return s.Peers[i].Node < s.Peers[j].Node })
	return s
}
