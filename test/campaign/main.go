// Command campaign attacks the 3-node lab cluster at random and proves that no guest disk is
// ever written from two hosts, that no acknowledged write is lost, and that every guest runs
// again after every fault with nothing left for an operator (make campaign; README.md,
// "Fault campaign").
//
// Knobs (environment): CAMPAIGN_SEED (default: from the clock, printed), CAMPAIGN_FAULTS
// (20), CAMPAIGN_DURATION (a Go duration; stop injecting after it), CAMPAIGN_GUESTS (6),
// CAMPAIGN_KINDS (comma-separated fault kinds; default all), CAMPAIGN_OUT (the report's
// folder; default build/campaign-SEED), CAMPAIGN_SABOTAGE=hand-start (after the faults,
// start one guest by hand on a second node: the checker must report it), CAMPAIGN_KEEP=1
// (leave the lab running). SIGINT or SIGTERM: no new fault; the current one, the checks and
// the report end the run as usual (a second signal quits at once).
//
// It runs as root on the machine of the lab (test/lab): it brings up the 3-node lab with a
// libvirtd per node and the hub's Ceph (bluestore, so an osd restart keeps the data), then
// runs itself again inside the hub's network namespace, where the nodes' Ceph is, and
// takes the machine's Pacemaker lock for the whole run.
package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const insideEnv = "KVMHA_CAMPAIGN_INSIDE"

type knobs struct {
	seed     uint64
	faults   int
	duration time.Duration
	guests   int
	kinds    []string
	out      string
	sabotage string
	keep     bool
}

func readKnobs(root string) (knobs, error) {
	k := knobs{faults: 20, guests: 6, kinds: append(append([]string(nil), singleKinds...), kindDouble)}
	var err error
	if s := os.Getenv("CAMPAIGN_SEED"); s != "" {
		if k.seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			return k, fmt.Errorf("CAMPAIGN_SEED: %v", err)
		}
	} else {
		k.seed = uint64(time.Now().UnixNano() % 1_000_000_000)
	}
	if s := os.Getenv("CAMPAIGN_FAULTS"); s != "" {
		if k.faults, err = strconv.Atoi(s); err != nil || k.faults < 0 {
			return k, fmt.Errorf("CAMPAIGN_FAULTS: %q", s)
		}
	}
	if s := os.Getenv("CAMPAIGN_DURATION"); s != "" {
		if k.duration, err = time.ParseDuration(s); err != nil {
			return k, fmt.Errorf("CAMPAIGN_DURATION: %v", err)
		}
	}
	if s := os.Getenv("CAMPAIGN_GUESTS"); s != "" {
		if k.guests, err = strconv.Atoi(s); err != nil || k.guests < 1 || k.guests > 20 {
			return k, fmt.Errorf("CAMPAIGN_GUESTS: %q (1..20)", s)
		}
	}
	if s := os.Getenv("CAMPAIGN_KINDS"); s != "" {
		k.kinds = nil
		for _, kind := range strings.Split(s, ",") {
			kind = strings.TrimSpace(kind)
			if kind != kindDouble && !contains(singleKinds, kind) {
				return k, fmt.Errorf("CAMPAIGN_KINDS: no fault kind %q (kinds: %s, %s)", kind, strings.Join(singleKinds, ", "), kindDouble)
			}
			k.kinds = append(k.kinds, kind)
		}
	}
	k.sabotage = os.Getenv("CAMPAIGN_SABOTAGE")
	if k.sabotage != "" && k.sabotage != "hand-start" {
		return k, fmt.Errorf("CAMPAIGN_SABOTAGE: %q (hand-start)", k.sabotage)
	}
	k.keep = os.Getenv("CAMPAIGN_KEEP") == "1"
	k.out = os.Getenv("CAMPAIGN_OUT")
	if k.out == "" {
		k.out = filepath.Join(root, "build", fmt.Sprintf("campaign-%d", k.seed))
	}
	return k, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var t0 = time.Now()

func logf(format string, args ...any) {
	fmt.Printf("[campaign %6.1fs] %s\n", time.Since(t0).Seconds(), fmt.Sprintf(format, args...))
}

func main() {
	root, err := repoRoot()
	if err == nil {
		var k knobs
		if k, err = readKnobs(root); err == nil {
			if os.Getenv(insideEnv) != "" {
				err = inside(root, k)
			} else {
				err = outside(root, k)
			}
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "campaign: %v\n", err)
		os.Exit(1)
	}
}

func repoRoot() (string, error) {
	if r := os.Getenv("KVMHA_ROOT"); r != "" {
		return r, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "test", "lab", "nodes.sh")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("run from the kvmha repository (or set KVMHA_ROOT)")
}

// outside: take the lock, bring up the lab, run the campaign in the hub, bring the lab down.
func outside(root string, k knobs) error {
	if os.Geteuid() != 0 {
		return errors.New("run as root: the lab makes namespaces and starts daemons")
	}
	lock, err := os.OpenFile("/tmp/kvmha-pcmk.lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	logf("waiting for the machine's Pacemaker lock (/tmp/kvmha-pcmk.lock)")
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	if err := os.MkdirAll(k.out, 0o755); err != nil {
		return err
	}
	l := newLab(root, 3)
	logf("seed %d, %d faults, %d guests; report in %s", k.seed, k.faults, k.guests, k.out)
	if _, err := l.script(10*time.Minute, "guest.sh", "writer"); err != nil {
		return err
	}
	logf("bringing up the 3-node lab (libvirtd per node, bluestore Ceph in the hub)")
	for _, kv := range []string{"LAB_NODES_LIBVIRT=1", "LAB_NODES_CEPH=1", "LAB_CEPH_STORE=bluestore", "LAB_NODES_FAKETIME=1"} {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	// A fresh lab: one another test left up would carry its own configuration (we hold the
	// lock, so nothing else is using it).
	if out, err := l.script(5*time.Minute, "nodes.sh", "down"); err != nil {
		return fmt.Errorf("%v\n%s", err, lastLines(out, 20))
	}
	if out, err := l.script(5*time.Minute, "nodes.sh", "up", "3"); err != nil {
		return fmt.Errorf("%v\n%s", err, lastLines(out, 20))
	}
	defer func() {
		if k.keep {
			logf("CAMPAIGN_KEEP=1: the lab keeps running (test/lab/nodes.sh down stops it)")
			return
		}
		logf("bringing the lab down")
		if _, err := l.script(5*time.Minute, "nodes.sh", "down"); err != nil {
			logf("nodes.sh down: %v", err)
		}
	}()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command("ip", "netns", "exec", "kvmha-hub", self)
	cmd.Env = append(os.Environ(), insideEnv+"=1", "KVMHA_ROOT="+root, "CAMPAIGN_SEED="+strconv.FormatUint(k.seed, 10), "CAMPAIGN_OUT="+k.out)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	// Ctrl-C reaches both processes; a SIGTERM may reach only this one: the inner campaign
	// finishes its fault, checks and reports, and this one waits for it, then tears down.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		for range sigs {
			_ = cmd.Process.Signal(syscall.SIGINT)
		}
	}()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("the campaign failed (report in %s): %v", k.out, err)
	}
	return nil
}

// interruptions is closed at the first SIGINT or SIGTERM; a second one ends the process at
// once (exit 130), without a report.
func interruptions() <-chan struct{} {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	stop := make(chan struct{})
	go func() {
		<-sigs
		logf("signal: no new fault; the current one ends, then the checks and the report (again to quit at once)")
		close(stop)
		<-sigs
		os.Exit(130)
	}()
	return stop
}

// inside: configure the cluster, observe, attack, check, report.
func inside(root string, k knobs) error {
	l := newLab(root, 3)
	ce, err := nodesCeph(l.state)
	if err != nil {
		return err
	}
	probe, err := openCeph(ce)
	if err != nil {
		return err
	}
	defer probe.close()
	tl, err := newTimeline(filepath.Join(k.out, "timeline.jsonl"))
	if err != nil {
		return err
	}
	defer tl.close()
	cl := &cluster{lab: l, ceph: ce, dir: filepath.Join(l.state, "campaign"), log: logf}
	os.RemoveAll(cl.dir)
	if err := cl.configure(k.guests); err != nil {
		return err
	}
	sum := summary{Seed: k.seed, Guests: k.guests, Start: time.Now(), Sabotage: k.sabotage}
	obs := newObserver(l, cl, tl, probe)
	chk := newChecker(tl, obs, probe, l, cl.guests)
	obs.violation = chk.violation
	tl.onEvent = func(e event) {
		switch e.Kind {
		case evViolation:
			logf("VIOLATION: %s", e.Detail)
		case evFence:
			if !strings.HasPrefix(e.State, "on ") { // unfencing of a node that rejoins: routine
				logf("     %s", e)
			}
		case evWatchdog:
			logf("     %s", e)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	obs.run(ctx, &wg)
	wg.Add(1)
	go func() { defer wg.Done(); obs.watchdogs(ctx) }()

	logf("waiting for %d guests to run, each once", k.guests)
	start := time.Now()
	for {
		if ok, _ := obs.settled(start); ok && obs.nodesOnline() {
			break
		}
		if time.Since(start) > 5*time.Minute {
			_, why := obs.settled(start)
			cancel()
			wg.Wait()
			return fmt.Errorf("the guests did not all start: %s", strings.Join(why, "; "))
		}
		time.Sleep(time.Second)
	}
	logf("all guests running after %.1f s; the campaign starts", time.Since(start).Seconds())
	nem := &nemesis{lab: l, cl: cl, obs: obs, tl: tl, chk: chk, rng: rand.New(rand.NewPCG(k.seed, k.seed^0x5eed)),
		stopped: map[int][]int{}, hungGuests: map[int][]string{}, log: logf, interrupted: interruptions()}
	var deadline time.Time
	if k.duration > 0 {
		deadline = time.Now().Add(k.duration)
	}
	nem.run(k.faults, deadline, k.kinds)
	logf("faults done; final check")
	chk.finalCheck(3 * time.Minute)
	if k.sabotage == "hand-start" {
		sum.SabotageAt = time.Now()
		sabotageHandStart(l, cl, obs, chk, tl)
	}
	cancel()
	wg.Wait()
	sum.End = time.Now()
	sum.Faults = nem.results
	chk.mu.Lock()
	sum.Violations = append([]violation(nil), chk.violations...)
	sum.RingReads = chk.ringReads
	chk.mu.Unlock()
	sum.Leftovers = chk.final
	path, err := writeReport(k.out, sum, tl)
	if err != nil {
		return err
	}
	logf("report: %s", path)
	unrecovered := 0
	for _, f := range sum.Faults {
		if f.Running < 0 || f.Clean < 0 {
			unrecovered++
		}
	}
	logf("%d faults, %d violations, %d not recovered, %d left over", len(sum.Faults), len(sum.Violations), unrecovered, len(sum.Leftovers))
	before, caught := 0, 0
	for _, v := range sum.Violations {
		if !sum.SabotageAt.IsZero() && !v.At.Before(sum.SabotageAt) {
			caught++
		} else {
			before++
		}
	}
	if before > 0 || unrecovered > 0 || len(sum.Leftovers) > 0 {
		return errors.New("the campaign found problems")
	}
	if k.sabotage != "" {
		if caught == 0 {
			return errors.New("the sabotage was NOT caught")
		}
		logf("the sabotage was caught: %d violations reported after it", caught)
	}
	return nil
}

// sabotageHandStart starts one running guest by hand on a second node, as an operator who
// bypasses the cluster would (virsh create, with the same secret), lets both run, then
// destroys the extra one. The checker must report two writers.
func sabotageHandStart(l *lab, cl *cluster, obs *observer, chk *checker, tl *timeline) {
	run, _ := obs.where()
	for _, g := range cl.guests {
		if len(run[g]) != 1 {
			continue
		}
		var from int
		fmt.Sscanf(run[g][0], "node%d", &from)
		other := from%l.nodes + 1
		logf("SABOTAGE: starting %s by hand on %s while it runs on %s", g, nodeName(other), run[g][0])
		tl.add(event{Kind: evNote, Guest: g, Node: nodeName(other), Detail: "sabotage: virsh create by hand"})
		xml, err := os.ReadFile(cl.guestXML(g))
		if err != nil {
			logf("sabotage: %v", err)
			return
		}
		uuid := between(string(xml), "<secret type='ceph' uuid='", "'")
		key := between(readFileString(cl.ceph.keyring), "key = ", "\n")
		secretXML := filepath.Join(cl.dir, "sabotage-secret.xml")
		_ = os.WriteFile(secretXML, []byte("<secret ephemeral='no' private='yes'><uuid>"+uuid+"</uuid><usage type='ceph'><name>sabotage</name></usage></secret>"), 0o600)
		if out, err := l.onNode(time.Minute, other, "virsh", "secret-define", secretXML); err != nil {
			logf("sabotage: %v %s", err, out)
		}
		if out, err := l.onNode(time.Minute, other, "virsh", "secret-set-value", uuid, strings.TrimSpace(key)); err != nil {
			logf("sabotage: %v %s", err, out)
		}
		if out, err := l.onNode(time.Minute, other, "virsh", "create", cl.guestXML(g)); err != nil {
			logf("sabotage: virsh create: %v %s", err, out)
			return
		}
		time.Sleep(20 * time.Second)
		chk.atRecovery("after the sabotage")
		_, _ = l.onNode(time.Minute, other, "virsh", "destroy", g)
		time.Sleep(2 * time.Second)
		return
	}
	logf("sabotage: no guest runs once: nothing to sabotage")
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	if j := strings.Index(s, b); j >= 0 {
		return s[:j]
	}
	return s
}

func readFileString(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}
