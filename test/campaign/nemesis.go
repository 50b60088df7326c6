package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The nemesis injects the faults of a seeded plan one after another (two at once for
// "double"), holds each for its time, heals it, and measures how long the cluster takes to
// run every guest again and to be clean.

// Bounds of the waits after a fault.
const (
	fenceWaitBound = 90 * time.Second  // a node that is off: until its fencing is recorded
	recoveryBound  = 240 * time.Second // until every guest runs once, where Pacemaker says
	cleanBound     = 150 * time.Second // until every node is online and nothing has failed
	// failureExpiry: a failure first seen late in the clean wait (a guest whose storage a
	// depth-20 monitor found lost a minute after an OSD restart) is recovered at once but
	// recorded until failure-timeout (60 s) has passed and Pacemaker rechecks: the wait goes
	// on that long after each new one (up to two expiries past cleanBound), so that such a
	// fault is judged by whether the records expire by themselves, not by when they appeared
	// (an OSD restart can cost two guests their watches a minute apart: seed 20261209, #118).
	failureExpiry     = 95 * time.Second
	quietBetween      = 3 * time.Second
	stuckNodeBound    = 90 * time.Second // a node that is on but not online this long is power-cycled
	settledConfirmFor = 2 * time.Second  // settled must hold this long (two Pacemaker views)
)

type faultResult struct {
	N      int       `json:"n"`
	Fault  fault     `json:"fault"`
	Inject time.Time `json:"inject"`
	Heal   time.Time `json:"heal"`
	// Running: from the injection until every guest ran once again, where Pacemaker has it
	// (0 when it never stopped being so); -1: not within the bound.
	Running time.Duration `json:"running"`
	// Clean: from the heal until, also, every node was online and no action had failed.
	Clean time.Duration `json:"clean"`
	// Affected: the guests that stopped running or moved because of the fault.
	Affected []string `json:"affected,omitempty"`
	Problems []string `json:"problems,omitempty"`
}

type nemesis struct {
	lab        *lab
	cl         *cluster
	obs        *observer
	tl         *timeline
	chk        *checker
	rng        *rand.Rand
	stopped    map[int][]int
	hungGuests map[int][]string
	killed     []int
	results    []faultResult
	log        func(format string, args ...any)
	// interrupted is closed when the operator asks the campaign to stop (SIGINT, SIGTERM):
	// no fault is started after it, and the checks and the report run as usual.
	interrupted <-chan struct{}
}

// schedule draws n fault kinds so that every kind comes up equally often, in a random order.
func (n *nemesis) schedule(count int, kinds []string) []string {
	var out []string
	for len(out) < count {
		round := slices.Clone(kinds)
		n.rng.Shuffle(len(round), func(i, j int) { round[i], round[j] = round[j], round[i] })
		out = append(out, round...)
	}
	return out[:count]
}

func (n *nemesis) run(count int, deadline time.Time, kinds []string) {
	plan := n.schedule(count, kinds)
	for k, kind := range plan {
		if !deadline.IsZero() && time.Now().After(deadline) {
			n.log("duration reached after %d faults", k)
			break
		}
		select {
		case <-n.interrupted:
			n.log("stopped by a signal after %d faults", k)
			return
		default:
		}
		n.one(k+1, len(plan), kind)
	}
}

// one runs one fault from injection to a clean cluster.
func (n *nemesis) one(k, total int, kind string) {
	f := plan(n.rng, kind, n.lab.nodes, n.obs.guestsOn)
	res := faultResult{N: k, Fault: f, Running: -1, Clean: -1}
	before, _ := n.obs.where()
	n.log("[%d/%d] %s", k, total, f)
	n.killed = nil
	res.Inject = time.Now()
	n.tl.add(event{T: res.Inject, Kind: evFault, State: "inject", Detail: fmt.Sprintf("#%d %s", k, f)})
	if err := n.inject(&f); err != nil {
		res.Problems = append(res.Problems, "inject: "+err.Error())
		n.log("     inject failed: %v", err)
	}
	// From now on, watch for the guests running again, whatever the heal is doing.
	rw := &recoveryWatch{}
	stopWatch := make(chan struct{})
	go n.watchRecovery(res.Inject, rw, stopWatch)
	time.Sleep(time.Until(res.Inject.Add(f.Hold)))
	res.Heal = time.Now()
	if err := n.heal(&f); err != nil {
		res.Problems = append(res.Problems, "heal: "+err.Error())
	}
	n.powerOnFenced(&res)
	n.tl.add(event{Kind: evFault, State: "heal", Detail: fmt.Sprintf("#%d %s", k, f)})

	// Every guest running once again: the settled stretch that is still going on after the
	// heal counts, an earlier one the fault broke later does not.
	for time.Since(res.Heal) < recoveryBound {
		if d, ok := rw.recovered(res.Inject); ok {
			res.Running = d
			break
		}
		n.unstickNodes(&res)
		time.Sleep(500 * time.Millisecond)
	}
	close(stopWatch)
	if res.Running < 0 {
		_, why := n.obs.settled(res.Inject)
		res.Problems = append(res.Problems, "not every guest running once "+recoveryBound.String()+" after the heal: "+strings.Join(why, "; "))
	}
	// Clean: every node online, nothing failed.
	start := time.Now()
	deadline := start.Add(cleanBound)
	failuresAtStart := map[string]bool{}
	for _, f := range n.obs.failuresNow() {
		failuresAtStart[f] = true
	}
	seen := map[string]bool{}
	hardStop := start.Add(cleanBound + 2*failureExpiry)
	for time.Now().Before(deadline) {
		ok, _ := n.obs.settled(res.Heal)
		writing, _ := n.obs.writing(res.Heal)
		failures := n.obs.failuresNow()
		if ok && writing && n.obs.nodesOnline() && len(failures) == 0 {
			res.Clean = time.Since(res.Heal)
			break
		}
		for _, f := range failures {
			if failuresAtStart[f] || seen[f] {
				continue
			}
			seen[f] = true
			if until := time.Now().Add(failureExpiry); until.After(deadline) {
				deadline = until
				if deadline.After(hardStop) {
					deadline = hardStop
				}
				n.log("     new failure %s: the clean wait goes on until it can expire", f)
			}
		}
		n.unstickNodes(&res)
		time.Sleep(500 * time.Millisecond)
	}
	if res.Clean < 0 {
		_, notWriting := n.obs.writing(res.Heal)
		res.Problems = append(res.Problems, fmt.Sprintf("not clean %s after the heal: online %v, failures %v %s",
			deadline.Sub(res.Heal).Round(time.Second), n.obs.v.online, n.obs.failuresNow(), strings.Join(notWriting, ", ")))
	}
	res.Affected = n.affected(before, res.Inject)
	n.tl.add(event{Kind: evRecovery, Detail: fmt.Sprintf("#%d running after %s, clean %s after the heal", k, fmtDur(res.Running), fmtDur(res.Clean))})
	n.chk.atRecovery(fmt.Sprintf("after fault #%d", k))
	n.results = append(n.results, res)
	n.log("     guests running again after %s; clean %s after the heal%s", fmtDur(res.Running), fmtDur(res.Clean), problems(res.Problems))
	time.Sleep(quietBetween)
}

func problems(p []string) string {
	if len(p) == 0 {
		return ""
	}
	return "; PROBLEMS: " + strings.Join(p, "; ")
}

func fmtDur(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// recoveryWatch follows whether every guest runs once where Pacemaker has it.
type recoveryWatch struct {
	mu           sync.Mutex
	sawUnsettled bool
	since        time.Time // start of the current settled stretch (zero: not settled)
}

// recovered: settled for settledConfirmFor without a break (Pacemaker's view is a second
// old); the duration from inject to the start of that stretch, 0 if it never broke.
func (rw *recoveryWatch) recovered(inject time.Time) (time.Duration, bool) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.since.IsZero() || time.Since(rw.since) < settledConfirmFor {
		return 0, false
	}
	if !rw.sawUnsettled {
		return 0, true
	}
	return rw.since.Sub(inject), true
}

// watchRecovery samples settled every 200 ms from the injection on, and watches hung
// libvirtds' guests meanwhile.
func (n *nemesis) watchRecovery(inject time.Time, rw *recoveryWatch, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(200 * time.Millisecond):
		}
		n.watchHang()
		ok, _ := n.obs.settled(inject)
		rw.mu.Lock()
		switch {
		case !ok:
			rw.sawUnsettled, rw.since = true, time.Time{}
		case rw.since.IsZero():
			rw.since = time.Now()
		}
		rw.mu.Unlock()
	}
}

// watchHang: while a node's libvirtd is stopped, its guests' qemus still run there; none of
// them may be started elsewhere meanwhile (a hang is not a death).
func (n *nemesis) watchHang() {
	run, _ := n.obs.where()
	for i, guests := range n.hungGuests {
		for _, g := range guests {
			if len(n.lab.nodeProcs(i, "guest="+g+",")) == 0 {
				continue // its qemu is gone: then it may run elsewhere
			}
			for _, other := range run[g] {
				if other != nodeName(i) {
					n.chk.violation(time.Now(), fmt.Sprintf("%s started on %s while its qemu still ran on %s (libvirtd hung there)", g, other, nodeName(i)))
				}
			}
		}
	}
}

// powerOnFenced powers on every node that is off, once its fencing is recorded.
func (n *nemesis) powerOnFenced(res *faultResult) {
	for i := 1; i <= n.lab.nodes; i++ {
		if n.lab.on(i) {
			continue
		}
		start := time.Now()
		for time.Since(start) < fenceWaitBound && !n.fencedSince(nodeName(i), res.Inject) {
			time.Sleep(500 * time.Millisecond)
		}
		if !n.fencedSince(nodeName(i), res.Inject) {
			res.Problems = append(res.Problems, fmt.Sprintf("%s off but its fencing not recorded within %s", nodeName(i), fenceWaitBound))
		}
		if _, err := n.lab.script(time.Minute, "nodes.sh", "start", strconv.Itoa(i)); err != nil {
			res.Problems = append(res.Problems, "power on: "+err.Error())
		}
	}
}

// fencedSince reports whether the timeline has a successful fencing of node after t, or
// the cluster no longer counts the node (a partition without quorum cannot fence, and then
// waits for the node to return).
func (n *nemesis) fencedSince(node string, t time.Time) bool {
	for _, e := range n.tl.snapshot() {
		if e.Kind == evFence && e.Node == node && strings.HasSuffix(e.State, "success") && e.T.After(t.Add(-2*time.Second)) {
			return true
		}
	}
	// Without quorum nobody fences: the nodes that are on do not see each other as online.
	n.obs.v.mu.Lock()
	online := len(n.obs.v.online)
	n.obs.v.mu.Unlock()
	return online*2 <= n.lab.nodes
}

// unstickNodes power-cycles a node that is on but has not been online for stuckNodeBound
// (a node whose cluster stack stopped for good after hearing of its own fencing), and
// records it as a problem: an operator would have had to do it.
func (n *nemesis) unstickNodes(res *faultResult) {
	n.obs.v.mu.Lock()
	online := slices.Clone(n.obs.v.online)
	n.obs.v.mu.Unlock()
	for i := 1; i <= n.lab.nodes; i++ {
		if !n.lab.on(i) || slices.Contains(online, nodeName(i)) {
			continue
		}
		since := n.offlineSince(nodeName(i))
		if since.IsZero() || time.Since(since) < stuckNodeBound {
			continue
		}
		res.Problems = append(res.Problems, fmt.Sprintf("%s was on but out of the cluster for %s: power-cycled", nodeName(i), stuckNodeBound))
		n.tl.add(event{Kind: evNote, Node: nodeName(i), Detail: "on but not online: power-cycled by the campaign"})
		_, _ = n.lab.script(time.Minute, "nodes.sh", "kill", strconv.Itoa(i))
		time.Sleep(6 * time.Second)
		_, _ = n.lab.script(time.Minute, "nodes.sh", "start", strconv.Itoa(i))
	}
}

// offlineSince is when node last turned on (if it is not online since then).
func (n *nemesis) offlineSince(node string) time.Time {
	var on time.Time
	for _, e := range n.tl.snapshot() {
		if e.Kind == evNode && e.Node == node && e.State == "on" {
			on = e.T
		}
		if e.Kind == evMembers && slices.Contains(e.Values, node) && !on.IsZero() && e.T.After(on) {
			on = time.Time{}
		}
	}
	return on
}

// affected lists the guests the fault stopped or moved: a domain that left a node, or one
// that started on another, since inject (before: where each ran then).
func (n *nemesis) affected(before map[string][]string, inject time.Time) []string {
	hit := map[string]bool{}
	for _, e := range n.tl.snapshot() {
		if e.Kind != evDomain || e.T.Before(inject) {
			continue
		}
		if e.State != "running" || !slices.Contains(before[e.Guest], e.Node) {
			hit[e.Guest] = true
		}
	}
	var out []string
	for _, g := range n.cl.guests {
		if hit[g] {
			out = append(out, g)
		}
	}
	return out
}
