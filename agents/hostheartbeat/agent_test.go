package hostheartbeat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/ocf"
	"github.com/kvmha/kvmha/internal/ocf/ocftest"
)

// fakeSystem "spawns" the daemon in-process: a real heartbeat.Daemon on
// the configuration file start wrote, with a fake watchdog and self-fence.
type fakeSystem struct {
	t *testing.T

	mu      sync.Mutex
	nextPID int
	procs   map[int]*fakeProc
	spawned [][]string
	// failStart makes the daemon's backends fail (it never gets healthy).
	failStart bool
	// ignoreTerm makes the daemon ignore SIGTERM (a hung daemon).
	ignoreTerm bool
	// partitioned: this node lost quorum.
	partitioned bool
	// signalled lists the pids signals were sent to.
	signalled []int
}

type fakeProc struct {
	cancel context.CancelFunc
	done   chan struct{}
	// started is the process's start time (see system.StartTime).
	started uint64
}

func newFakeSystem(t *testing.T) *fakeSystem {
	return &fakeSystem{t: t, nextPID: 1000, procs: map[int]*fakeProc{}}
}

type nopLog struct{}

func (nopLog) Infof(string, ...any)  {}
func (nopLog) Warnf(string, ...any)  {}
func (nopLog) Errorf(string, ...any) {}

type failing struct{ heartbeat.Backend }

func (failing) WriteRecord(context.Context, string, []byte) error { return errors.New("EIO") }

func (s *fakeSystem) Spawn(argv []string, logPath string) (int, <-chan error, error) {
	s.mu.Lock()
	s.nextPID++
	pid := s.nextPID
	s.spawned = append(s.spawned, argv)
	failStart := s.failStart
	s.mu.Unlock()
	cfg, err := heartbeat.ReadConfig(argv[len(argv)-1])
	if err != nil {
		return 0, nil, err
	}
	specs, _ := cfg.Validate()
	bs, err := heartbeat.OpenAll(context.Background(), specs, heartbeat.OpenLocal)
	if err != nil {
		return 0, nil, err
	}
	if failStart {
		for i := range bs {
			bs[i] = failing{bs[i]}
		}
	}
	d, err := heartbeat.New(*cfg, heartbeat.Deps{Backends: bs, PID: pid, Log: nopLog{},
		SelfFence: func(context.Context, string) error { return nil }})
	if err != nil {
		return 0, nil, err
	}
	os.WriteFile(cfg.PIDPath(), []byte(fmt.Sprintf("%d\n", pid)), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	p := &fakeProc{cancel: cancel, done: make(chan struct{}), started: uint64(pid) * 100}
	exited := make(chan error, 1)
	go func() {
		err := d.Run(ctx)
		exited <- err
		close(p.done)
	}()
	s.mu.Lock()
	s.procs[pid] = p
	s.mu.Unlock()
	return pid, exited, nil
}

func (s *fakeSystem) IsDaemon(pid int) bool {
	s.mu.Lock()
	p := s.procs[pid]
	s.mu.Unlock()
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (s *fakeSystem) StartTime(pid int) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.procs[pid]; p != nil {
		return p.started, nil
	}
	return 0, syscall.ESRCH
}

func (s *fakeSystem) BootID() string { return "boot-1" }

func (s *fakeSystem) Signal(pid int, sig syscall.Signal) error {
	s.mu.Lock()
	p := s.procs[pid]
	ignore := s.ignoreTerm
	s.signalled = append(s.signalled, pid)
	s.mu.Unlock()
	if p == nil {
		return syscall.ESRCH
	}
	if sig == syscall.SIGTERM && ignore {
		return nil
	}
	p.cancel()
	if sig == syscall.SIGKILL {
		<-p.done // a goroutine cannot be killed: let it end before the test's files go
		s.mu.Lock()
		delete(s.procs, pid)
		s.mu.Unlock()
	}
	return nil
}

func (s *fakeSystem) Now() time.Duration { return heartbeat.BootTime() }

func (s *fakeSystem) Partitioned(context.Context) (bool, string) { return s.partitioned, "fake" }

// deps is the agent's outside world on this fake.
func (s *fakeSystem) deps() deps {
	return deps{procs: s, bootID: s.BootID, now: s.Now, partitioned: s.Partitioned}
}

// crash ends a daemon without its clean stop.
func (s *fakeSystem) crash(pid int) {
	s.mu.Lock()
	p := s.procs[pid]
	delete(s.procs, pid)
	s.mu.Unlock()
	p.cancel()
	// A spawned daemon's goroutine must not write into the test's files after the test
	// ends; a stand-in process a test put there has no goroutine and never closes done.
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

type env struct {
	t    *testing.T
	sys  *fakeSystem
	dir  string
	vars ocftest.Env
}

func newEnv(t *testing.T) *env {
	dir := t.TempDir()
	hb := filepath.Join(dir, "shared")
	os.Mkdir(hb, 0o755)
	bin := filepath.Join(dir, "kvmha")
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	vars := ocftest.NewEnv(t, "hb:0", "").SetMeta("on_node", "node1").SetTimeout(10 * time.Second)
	for k, v := range map[string]string{"backends": "file://" + hb, "interval": "1", "timeout": "3",
		"watchdog_device": "none", "state_dir": filepath.Join(dir, "run"), "kvmha_binary": bin, "libvirt_uri": "none"} {
		vars.SetParam(k, v)
	}
	return &env{t: t, sys: newFakeSystem(t), dir: dir, vars: vars}
}

// run runs action with extra variables ("NAME=value") over e.vars; it returns the exit
// code and stderr.
func (e *env) run(action string, extra ...string) (int, string) {
	e.t.Helper()
	r := ocftest.Run(newAgent(e.sys.deps()), action, e.vars.With(extra...))
	return int(r.Code), r.Stderr
}

func (e *env) pid() int {
	pid, _ := readPID(context.Background(), filepath.Join(e.vars["OCF_RESKEY_state_dir"], "heartbeat.pid"))
	return pid
}

func TestAgentDeclaration(t *testing.T) {
	if err := New().Check(); err != nil {
		t.Fatal(err)
	}
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	if code, msg := e.run("monitor", "OCF_RESKEY_CRM_meta_interval=0"); code != int(ocf.NotRunning) {
		t.Fatalf("probe: %d %s", code, msg)
	}
	if code, msg := e.run("start"); code != 0 {
		t.Fatalf("start: %d %s", code, msg)
	}
	pid := e.pid()
	if code, msg := e.run("monitor", "OCF_RESKEY_CRM_meta_interval=10000"); code != 0 {
		t.Fatalf("monitor: %d %s", code, msg)
	}
	if code, _ := e.run("start"); code != 0 || e.pid() != pid || len(e.sys.spawned) != 1 {
		t.Fatal("second start spawned again")
	}
	cfg, err := heartbeat.ReadConfig(filepath.Join(e.vars["OCF_RESKEY_state_dir"], "heartbeat.conf"))
	if err != nil || cfg.Node != "node1" || cfg.Timeout.D() != 3*time.Second || cfg.LibvirtURI != "" {
		t.Fatalf("config %+v %v", cfg, err)
	}
	if argv := e.sys.spawned[0]; strings.Join(argv[1:4], " ") != "heartbeat run --config" {
		t.Fatalf("argv %v", argv)
	}
	if code, msg := e.run("stop"); code != 0 {
		t.Fatalf("stop: %d %s", code, msg)
	}
	if e.pid() != 0 {
		t.Fatal("pid file left")
	}
	if code, _ := e.run("stop"); code != 0 {
		t.Fatal("second stop")
	}
	if code, _ := e.run("monitor"); code != int(ocf.NotRunning) {
		t.Fatal("monitor after stop")
	}
}

// TestMonitorToleratesAStalledDaemon: a state older than three intervals but younger than the
// timeout is a daemon that was not scheduled for a while, which still feeds its watchdog: the
// monitor passes; once the state is as old as the timeout, the daemon is stuck.
func TestMonitorToleratesAStalledDaemon(t *testing.T) {
	e := newEnv(t)
	e.vars.SetParam("timeout", "30")
	if code, msg := e.run("start"); code != 0 {
		t.Fatalf("start: %d %s", code, msg)
	}
	stateDir := e.vars["OCF_RESKEY_state_dir"]
	pid := e.pid()
	e.sys.mu.Lock()
	p := e.sys.procs[pid]
	e.sys.procs[pid] = &fakeProc{cancel: func() {}, done: make(chan struct{})}
	e.sys.mu.Unlock()
	p.cancel() // no more state writes; the process stays "alive"
	<-p.done
	st, err := heartbeat.ReadState(stateDir)
	if err != nil || st.Timeout.D() != 30*time.Second {
		t.Fatalf("state %+v %v", st, err)
	}
	st.Phase = heartbeat.PhaseRunning // as it was before the stop the cancel made
	st.Healthy = true
	st.WrittenAt = heartbeat.BootTime() - 10*time.Second
	heartbeat.WriteState(stateDir, st)
	if code, msg := e.run("monitor"); code != 0 {
		t.Fatalf("monitor of a daemon stalled 10 s with a 30 s timeout: %d %s", code, msg)
	}
	st.WrittenAt = heartbeat.BootTime() - 31*time.Second
	heartbeat.WriteState(stateDir, st)
	if code, msg := e.run("monitor"); code != int(ocf.ErrGeneric) || !strings.Contains(msg, "stuck") {
		t.Fatalf("monitor of a daemon stalled past its timeout: %d %s", code, msg)
	}
}

func TestMonitorFailures(t *testing.T) {
	e := newEnv(t)
	if code, msg := e.run("start"); code != 0 {
		t.Fatalf("start: %d %s", code, msg)
	}
	stateDir := e.vars["OCF_RESKEY_state_dir"]
	// The shared directory vanishes: no quorum within the timeout.
	hb := strings.TrimPrefix(e.vars["OCF_RESKEY_backends"], "file://")
	os.Rename(hb, hb+".gone")
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, msg := e.run("monitor")
		if code == int(ocf.ErrGeneric) && strings.Contains(msg, "no quorum of backends") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("monitor with the directory gone: %d %s", code, msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
	os.Rename(hb+".gone", hb)
	// A stuck daemon: its state stops changing.
	st, _ := heartbeat.ReadState(stateDir)
	st.WrittenAt -= time.Minute
	pid := e.pid()
	e.sys.mu.Lock()
	e.sys.procs[pid].cancel() // stop its writes; keep it "alive"
	p := e.sys.procs[pid]
	e.sys.procs[pid] = &fakeProc{cancel: func() {}, done: make(chan struct{})}
	e.sys.mu.Unlock()
	<-p.done
	heartbeat.WriteState(stateDir, st)
	if code, msg := e.run("monitor"); code != int(ocf.ErrGeneric) || !strings.Contains(msg, "stuck") {
		t.Fatalf("stuck: %d %s", code, msg)
	}
	st.WrittenAt += time.Minute + time.Hour
	st.Phase = heartbeat.PhaseFencing
	heartbeat.WriteState(stateDir, st)
	if code, msg := e.run("monitor"); code != int(ocf.ErrGeneric) || !strings.Contains(msg, "fencing itself") {
		t.Fatalf("fencing: %d %s", code, msg)
	}
	st.PID = 1
	heartbeat.WriteState(stateDir, st)
	if code, msg := e.run("monitor"); code != int(ocf.ErrGeneric) || !strings.Contains(msg, "not the running daemon") {
		t.Fatalf("other pid: %d %s", code, msg)
	}
	os.Remove(heartbeat.StatePath(stateDir))
	if code, msg := e.run("monitor"); code != int(ocf.ErrGeneric) || !strings.Contains(msg, "no readable state") {
		t.Fatalf("no state: %d %s", code, msg)
	}
	// The daemon died: the pid file stays, the process is gone.
	e.sys.crash(pid)
	if code, msg := e.run("monitor"); code != int(ocf.ErrGeneric) || !strings.Contains(msg, "died") {
		t.Fatalf("died: %d %s", code, msg)
	}
	if code, _ := e.run("stop"); code != 0 || e.pid() != 0 {
		t.Fatal("stop after a crash")
	}
}

func TestStartFailures(t *testing.T) {
	e := newEnv(t)
	e.sys.failStart = true
	e.vars["OCF_RESKEY_CRM_meta_timeout"] = "3000"
	code, msg := e.run("start")
	if code != int(ocf.ErrGeneric) || !strings.Contains(msg, "no quorum of backends in time") {
		t.Fatalf("start without storage: %d %s", code, msg)
	}
	deadline := time.Now().Add(5 * time.Second)
	for pid := range e.sys.procs {
		for e.sys.IsDaemon(pid) {
			if time.Now().After(deadline) {
				t.Fatal("start left its failed daemon running")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, c := range []struct {
		what, param, value, action string
		want                       ocf.ExitCode
	}{
		{"missing binary", "kvmha_binary", "/nonexistent/kvmha", "start", ocf.ErrInstalled},
		{"missing watchdog", "watchdog_device", "/dev/nonexistent-watchdog", "start", ocf.ErrInstalled},
		{"missing keyring", "ceph_keyring", "/nonexistent/keyring", "validate-all", ocf.ErrInstalled},
		{"bad backend", "backends", "nfs://server/x", "start", ocf.ErrConfigured},
		{"timeout below twice the interval", "timeout", "1", "validate-all", ocf.ErrConfigured},
	} {
		e := newEnv(t)
		e.vars["OCF_RESKEY_"+c.param] = c.value
		if code, _ := e.run(c.action); code != int(c.want) {
			t.Fatalf("%s: %d", c.what, code)
		}
	}
}

func TestStopKillsAHungDaemon(t *testing.T) {
	e := newEnv(t)
	if code, msg := e.run("start"); code != 0 {
		t.Fatalf("start: %d %s", code, msg)
	}
	e.sys.ignoreTerm = true
	e.vars["OCF_RESKEY_CRM_meta_timeout"] = "2000"
	code, msg := e.run("stop")
	if code != 0 || !strings.Contains(msg, "killing it") {
		t.Fatalf("stop of a hung daemon: %d %s", code, msg)
	}
}

func TestStopWithoutQuorumKeepsTheDaemon(t *testing.T) {
	e := newEnv(t)
	if code, msg := e.run("start"); code != 0 {
		t.Fatalf("start: %d %s", code, msg)
	}
	pid := e.pid()
	e.sys.partitioned = true
	code, msg := e.run("stop")
	if code != 0 || !strings.Contains(msg, "keeps running") || !e.sys.IsDaemon(pid) {
		t.Fatalf("stop without quorum: %d %s", code, msg)
	}
	// The node rejoins unfenced: the probe finds the daemon, start adopts it.
	if code, _ := e.run("monitor", "OCF_RESKEY_CRM_meta_interval=0"); code != 0 {
		t.Fatal("probe after the partition")
	}
	e.sys.partitioned = false
	if code, _ := e.run("stop"); code != 0 || e.sys.IsDaemon(pid) {
		t.Fatal("stop with quorum")
	}
	if p, _ := partitioned(context.Background()); p {
		t.Error("this test host is no partitioned cluster node")
	}
}

// TestPartitioned reads crm_node's and attrd_updater's answers (Pacemaker 2.1.5's).
func TestPartitioned(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	tool := func(name, script string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	noShutdown := `echo '<pacemaker-result api-version="2.25" request="attrd_updater"><status code="78" message="Invalid configuration"><errors><error>attrd_updater: Could not query value of shutdown: attribute does not exist</error></errors></status></pacemaker-result>'; exit 78`
	shutdown := func(v string) string {
		return `echo '<pacemaker-result api-version="2.25" request="attrd_updater"><attribute name="shutdown" value="` + v + `" host="node1"/><status code="0" message="OK"/></pacemaker-result>'`
	}
	for _, c := range []struct {
		quorum, attrd string
		want          bool
	}{
		{"echo 1", noShutdown, false},
		{"echo 0", noShutdown, true},
		{"echo 0; exit 1", noShutdown, true}, // the exit status varies between versions
		{"echo 0", shutdown("1763000000"), false},
		{"echo 0", shutdown("0"), true},
		{"echo 0", "exit 1", true},
		{"echo 'not connected' >&2; exit 102", noShutdown, false},
	} {
		tool("crm_node", c.quorum)
		tool("attrd_updater", c.attrd)
		if got, why := partitioned(context.Background()); got != c.want {
			t.Errorf("crm_node %q, attrd_updater %q: %v (%s)", c.quorum, c.attrd, got, why)
		}
	}
}

func TestHelpers(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pid")
	for content, want := range map[string]int{"": 0, "garbage": 0, "1": 0, " 42\n": 42} {
		os.WriteFile(p, []byte(content), 0o644)
		if got, err := readPID(context.Background(), p); got != want || err != nil {
			t.Errorf("%q: %d %v", content, got, err)
		}
	}
	log := filepath.Join(dir, "log")
	os.WriteFile(log, []byte("a\nb\nc\n"), 0o644)
	if got := lastLines(log, 2); !strings.HasSuffix(got, "b | c") {
		t.Fatal(got)
	}
	if got := lastLines(filepath.Join(dir, "none"), 2); got != filepath.Join(dir, "none") {
		t.Fatal(got)
	}
	if (hostProcesses{}).IsDaemon(os.Getpid()) || (hostProcesses{}).IsDaemon(1<<30) {
		t.Fatal("IsDaemon")
	}
}

func TestRealSpawn(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "log")
	os.WriteFile(logPath, bytes.Repeat([]byte("x"), maxLog+1), 0o640)
	pid, exited, err := hostProcesses{}.Spawn([]string{"/bin/sh", "-c", "echo $PATH; exit 3"}, logPath)
	if err != nil || pid <= 0 {
		t.Fatal(pid, err)
	}
	if err := <-exited; err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("%v", err)
	}
	data, _ := os.ReadFile(logPath)
	if string(data) != "/usr/sbin:/usr/bin:/sbin:/bin\n" {
		t.Fatalf("log %q (rotated, clean PATH)", data)
	}
	if _, err := os.Stat(logPath + ".1"); err != nil {
		t.Fatal("the big log was not rotated")
	}
	if _, _, err := (hostProcesses{}).Spawn([]string{"/nonexistent"}, logPath); err == nil {
		t.Fatal("spawned nothing")
	}
	if (hostProcesses{}).Signal(pid, 0) == nil {
		t.Fatal("signalled a reaped process")
	}
	if productionDeps().now() <= 0 {
		t.Fatal("boot time")
	}
}

// TestReadBound: reads of the daemon's files may take half the action's remaining time, never
// less than two seconds (a starved host is no hung mount).
func TestReadBound(t *testing.T) {
	if got := readBound(context.Background()); got != pidFileTimeout {
		t.Errorf("no deadline: %v, want %v", got, pidFileTimeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if got := readBound(ctx); got < 59*time.Second || got > 60*time.Second {
		t.Errorf("120 s left: %v, want about 60 s", got)
	}
	short, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if got := readBound(short); got != pidFileTimeout {
		t.Errorf("1 s left: %v, want %v", got, pidFileTimeout)
	}
}
