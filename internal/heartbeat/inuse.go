package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// InUse is the start guard: before this host runs a domain, it reads every
// other host's newest record and finds whether one of them runs the domain,
// or a guest writing to one of its disks (Record.Conflicts). A host whose
// record lists such a use
//
//   - is no obstacle once it is proven dead: its record unchanged for its
//     timeout + watchdog + Margin on enough backends (as fence_kvmha proves
//     it), or its record acknowledges a fence message;
//   - nor once its newest record (of a new incarnation, or a later beat)
//     lists the use no more;
//   - is waited for while it is silent but not yet proven dead;
//   - refuses the start when its heartbeat is alive and still lists the use
//     two beats after the first record read: the record read first, and the
//     one after, may have been made before a stop that Pacemaker finished
//     just before this start;
//   - is ignored, with a warning, when its heartbeat was stopped cleanly: a
//     stopped heartbeat says nothing of what runs there since, either way
//     (a node that shuts down stops its heartbeat and its guests in any
//     order).
//
// What cannot be read is never taken for "nothing there": a host whose
// backends cannot be read (enough of them to see its newest record), or
// hosts that cannot be listed, keep the guard waiting, and then refuse.
type InUse struct {
	Backends []Backend
	// Self is this host: its own record is not looked at.
	Self string
	// Ignore names other hosts not looked at: the source of a live
	// migration, whose record lists the guest until its next beat.
	Ignore []string
	// Margin is added to a host's timeout and watchdog before its silence
	// proves it dead (fence_kvmha's margin, DefaultMargin).
	Margin time.Duration
	// Poll is the time between rounds of reads (200 ms when zero).
	Poll time.Duration
	Now  func() time.Duration // BootTime when nil
	// Seeds are the local daemon's sightings (see Fencer.SeedFromState).
	Seeds map[string][]Sighting
	Log   Log
}

// SeedFromState takes the local daemon's sightings when its state is fresh
// (as Fencer.SeedFromState): a host it saw silent for long is proven dead at
// the first read.
func (c *InUse) SeedFromState(s *State) {
	now := BootTime()
	if c.Now != nil {
		now = c.Now()
	}
	if s == nil || !s.Fresh(now) {
		return
	}
	if c.Seeds == nil {
		c.Seeds = map[string][]Sighting{}
	}
	for _, p := range s.Peers {
		c.Seeds[p.Node] = p.Sightings
	}
}

// ErrInUse wraps every refusal of Check.
var ErrInUse = errors.New("in use")

// useChanges is how many records of a live host newer than the first one
// read must still list the use before the start is refused.
const useChanges = 2

// hostUse is what Check follows of one host.
type hostUse struct {
	last    *Record // the newest record at the previous round
	changes int     // newer records seen since the first round, each listing the use
	said    string  // the last reason logged
}

// hostVerdict is one round's conclusion about one host.
type hostVerdict struct {
	node   string
	clear  bool
	refuse bool
	reason string // why it refuses or waits
}

// Check returns nil when no other host stands in the way of u, and an error
// wrapping ErrInUse otherwise: at once when a live host runs it, or when ctx
// ends while waiting for silent hosts or unreadable backends. Its reason
// starts with the host at fault.
func (c *InUse) Check(ctx context.Context, u Use) error {
	if len(c.Backends) == 0 {
		return nil
	}
	f := &Fencer{Backends: c.Backends, Margin: c.Margin, Now: c.Now, Seeds: c.Seeds}
	poll := c.Poll
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	follow := map[string]*hostUse{}
	var selfWarned bool
	var last []string // the previous round's blockers
	for {
		var blockers []string
		hosts, errs := f.Hosts(ctx)
		if n := len(c.Backends); n-len(errs) < StaleNeeded(n) {
			blockers = append(blockers, fmt.Sprintf("the hosts on %d of the %d heartbeat backends cannot be listed (%s)",
				len(errs), n, agentlog.JoinErrors(errs...)))
		}
		if !selfWarned && len(errs) == 0 && !slices.Contains(hosts, c.Self) {
			selfWarned = true
			c.Log.Warnf("this node (%s) has no record on the heartbeat backends %s: is ocf:kvmha:HostHeartbeat running here, on the same backends?",
				c.Self, strings.Join(BackendURIs(c.Backends), " "))
		}
		var others []string
		for _, h := range hosts {
			if h != c.Self && !slices.Contains(c.Ignore, h) {
				others = append(others, h)
				if follow[h] == nil {
					follow[h] = &hostUse{}
				}
			}
		}
		verdicts := make([]hostVerdict, len(others))
		var wg sync.WaitGroup
		for i, h := range others {
			wg.Go(func() {
				v := f.Observe(ctx, h)
				verdicts[i] = c.judge(f, h, v, follow[h], u)
			})
		}
		wg.Wait()
		var refusals []string
		for _, v := range verdicts {
			switch {
			case v.refuse:
				refusals = append(refusals, v.reason)
			case !v.clear:
				blockers = append(blockers, v.reason)
				if hu := follow[v.node]; hu.said != v.reason {
					hu.said = v.reason
					c.Log.Warnf("%s", v.reason)
				}
			}
		}
		if len(refusals) > 0 {
			return fmt.Errorf("%w: %s", ErrInUse, strings.Join(refusals, "; "))
		}
		if ctx.Err() != nil && last != nil {
			// Reads cut short by the deadline say less than the round before.
			blockers = last
		}
		if len(blockers) == 0 {
			return nil
		}
		last = blockers
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s (waited until the start's deadline)", ErrInUse, strings.Join(blockers, "; "))
		case <-time.After(poll):
		}
	}
}

// judge concludes one round about host node, whose watch f holds.
func (c *InUse) judge(f *Fencer, node string, v Verdict, hu *hostUse, u Use) hostVerdict {
	f.mu.Lock()
	w := f.watches[node]
	latest := w.Latest()
	var unread []string
	readOK := 0
	failed := false
	for _, b := range c.Backends {
		failed = failed || w.ReadError(b.URI()) != nil
	}
	if latest != nil {
		for _, uri := range latest.Backends {
			if !slices.Contains(BackendURIs(c.Backends), uri) {
				continue
			}
			if w.ReadOK(uri) {
				readOK++
			} else if err := w.ReadError(uri); err != nil {
				unread = append(unread, uri+": "+err.Error())
			}
		}
	}
	f.mu.Unlock()
	out := hostVerdict{node: node}
	if latest == nil {
		if failed {
			out.reason = v.Reason // names the backends that failed
			return out
		}
		out.clear = true // registered, never wrote a record
		return out
	}
	conflicts := latest.Conflicts(u)
	if need := StaleNeeded(len(latest.Backends)); readOK < need {
		// A newer record may be on the backends not read.
		out.reason = fmt.Sprintf("%s: its record was read on %d of its %d heartbeat backends, and %d are needed to be sure it is its newest (%s)",
			node, readOK, len(latest.Backends), need, orNone(unread))
		return out
	}
	if len(conflicts) == 0 {
		out.clear = true
		return out
	}
	what := node + " " + conflicts[0]
	switch {
	case latest.State == StateFencing && latest.Ack != nil:
		c.Log.Infof("%s, but acknowledged fence message %s and is fencing itself", what, latest.Ack.ID)
		out.clear = true
		return out
	case v.Dead && !v.Rebooted:
		c.Log.Infof("%s, but is proven dead: %s", what, v.Reason)
		out.clear = true
		return out
	case latest.State == StateStopped:
		c.Log.Warnf("%s, but its heartbeat was stopped cleanly: a stopped heartbeat says nothing of what runs there now; not waiting for it", what)
		out.clear = true
		return out
	}
	if hu.last != nil && (hu.last.Incarnation != latest.Incarnation || hu.last.Seq != latest.Seq) {
		hu.changes++
	}
	hu.last = latest
	switch {
	case v.Alive && hu.changes >= useChanges:
		out.refuse = true
		out.reason = what + " (its heartbeat is alive)"
	case v.Alive:
		out.reason = what + "; waiting for its next beats"
	case v.Rebooted:
		out.reason = what + ", and is silent since it rebooted"
	case !v.Provable:
		out.reason = what + ", and is silent, but runs no watchdog: its silence proves nothing"
	default:
		out.reason = fmt.Sprintf("%s, and is silent, but not yet proven dead (after %s without a change: timeout %s + watchdog %s + margin %s)",
			what, latest.Timeout()+latest.Watchdog()+c.Margin, latest.Timeout(), latest.Watchdog(), c.Margin)
	}
	return out
}

// URIs2 are the backends' URIs.
func BackendURIs(bs []Backend) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.URI()
	}
	return out
}

func orNone(errs []string) string {
	if len(errs) == 0 {
		return "no backend failed, but too few of them are this host's"
	}
	return strings.Join(errs, "; ")
}
