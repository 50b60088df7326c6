package hostheartbeat

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/ocf"
)

// poll is how often start and stop look at the daemon while waiting.
const poll = 50 * time.Millisecond

func (a *agent) validate(ctx context.Context, req *ocf.Request) error {
	cfg, err := config(req)
	if err != nil {
		return err
	}
	if req.Action() != ocf.ActionStart && req.Action() != ocf.ActionValidateAll {
		return nil
	}
	bin := req.String(pBinary)
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return ocf.Errorf(ocf.ErrInstalled, "%s: %q is not an executable", pBinary, agentlog.Clip(bin))
	}
	if strings.HasPrefix(cfg.WatchdogDevice, "/dev/") {
		fi, err := os.Stat(cfg.WatchdogDevice)
		switch {
		case err != nil:
			return ocf.Errorf(ocf.ErrInstalled, "%s: %v (load softdog or a hardware driver, or set watchdog_device=none)", pWatchdogDevice, agentlog.Clip(err.Error()))
		case fi.Mode()&fs.ModeCharDevice == 0:
			return ocf.ParamErrorf(pWatchdogDevice, "%q is %s, not a watchdog device", agentlog.Clip(cfg.WatchdogDevice), files.Kind(fi.Mode()))
		}
	}
	specs, _ := cfg.Validate()
	rados := false
	for _, s := range specs {
		rados = rados || s.Scheme == heartbeat.SchemeRADOS
	}
	// librados reads these files itself, without a bound: a FIFO would hang the daemon.
	if err := checkCephFile(pCephConf, cfg.CephConf, rados); err != nil {
		return err
	}
	if cfg.CephKeyring != "" {
		if err := checkCephFile(pCephKeyring, cfg.CephKeyring, true); err != nil {
			return err
		}
	}
	return nil
}

// checkCephFile checks a file librados is given: a regular file, and present when needed.
func checkCephFile(param, path string, needed bool) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !needed:
		return nil
	case err != nil:
		return ocf.Errorf(ocf.ErrInstalled, "%s: %v", param, agentlog.Clip(err.Error()))
	case !fi.Mode().IsRegular():
		return ocf.ParamErrorf(param, "%q is %s, not a file", agentlog.Clip(path), files.Kind(fi.Mode()))
	}
	return nil
}

// daemonPID returns the pid of the running daemon, 0 when none runs; a pid
// file naming a process that is gone gives died=true.
func (a *agent) daemonPID(ctx context.Context, cfg *heartbeat.Config) (pid int, died bool, err error) {
	pid, err = readPID(ctx, cfg.PIDPath())
	if err != nil {
		return 0, false, fmt.Errorf("the daemon's pid file: %w", err)
	}
	if pid == 0 {
		return 0, false, nil
	}
	if !a.procs.IsDaemon(pid) {
		return 0, true, nil
	}
	return pid, false, nil
}

func (a *agent) start(ctx context.Context, req *ocf.Request) error {
	cfg, err := config(req)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return ocf.ParamErrorf(pStateDir, "%v", agentlog.Clip(err.Error()))
	}
	pid, _, err := a.daemonPID(ctx, cfg)
	if err != nil {
		return err
	}
	rec, err := loadRecord(req)
	if err != nil {
		return err
	}
	if rec != nil && rec.PID != pid && a.ours(rec) {
		// Pacemaker stops a resource before starting it with other parameters, and
		// that stop ends the recorded daemon: this one outlived a failed stop.
		return ocf.Errorf(ocf.ErrGeneric, "a heartbeat daemon this agent started (pid %d, state_dir %s) still runs: stop the resource first",
			rec.PID, rec.StateDir)
	}
	if pid != 0 {
		req.Log.Infof("the heartbeat daemon already runs (pid %d)", pid)
		if err := a.record(req, cfg, pid); err != nil {
			return err
		}
		return a.waitHealthy(ctx, req, cfg, pid, nil)
	}
	os.Remove(cfg.PIDPath())
	os.Remove(cfg.StatePath())
	if err := cfg.Write(); err != nil {
		return fmt.Errorf("writing %s: %w", cfg.ConfigPath(), err)
	}
	argv := []string{req.String(pBinary), "heartbeat", "run", "--config", cfg.ConfigPath()}
	pid, exited, err := a.procs.Spawn(argv, cfg.LogPath())
	if err != nil {
		return fmt.Errorf("starting %s: %w", argv[0], err)
	}
	req.Log.Infof("heartbeat daemon started (pid %d): %s", pid, strings.Join(cfg.Backends, " "))
	err = a.record(req, cfg, pid)
	if err == nil {
		err = a.waitHealthy(ctx, req, cfg, pid, exited)
	}
	if err != nil {
		// Never leave a daemon that start gave up on: it has not armed a
		// watchdog yet (it arms once healthy), so TERM ends it cleanly.
		a.procs.Signal(pid, syscall.SIGTERM)
		return err
	}
	return nil
}

// waitHealthy waits until the daemon's state says it reached a quorum.
func (a *agent) waitHealthy(ctx context.Context, req *ocf.Request, cfg *heartbeat.Config, pid int, exited <-chan error) error {
	var last *heartbeat.State
	for {
		if st, err := heartbeat.ReadState(cfg.StateDir); err == nil && st.PID == pid {
			last = st
			if st.Healthy && st.Fresh(a.now()) {
				req.Log.Infof("heartbeat daemon healthy: %s", backendSummary(st))
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("the heartbeat daemon exited (%v); see %s", err, lastLines(cfg.LogPath(), 3))
		case <-ctx.Done():
			why := "no state yet"
			if last != nil {
				why = backendSummary(last)
			}
			return fmt.Errorf("the heartbeat daemon reached no quorum of backends in time: %s", why)
		case <-time.After(poll):
		}
	}
}

// stop ends the daemon of the configuration and the one this node's record names (they
// differ when state_dir changed since start: Pacemaker stops with the new parameters).
func (a *agent) stop(ctx context.Context, req *ocf.Request) error {
	cfg, err := config(req)
	if err != nil {
		return err
	}
	var pids []int
	rec, err := loadRecord(req)
	switch {
	case err != nil:
		// The configuration still names the daemon through its pid file.
		req.Log.Warnf("%v; stopping the daemon of this configuration", err)
	case rec != nil && a.ours(rec):
		pids = append(pids, rec.PID)
	}
	pid, _, err := a.daemonPID(ctx, cfg)
	if err != nil {
		return err
	}
	if rec != nil && rec.PID == pid && !slices.Contains(pids, pid) {
		// The pid file is the recorded daemon's, which is gone: its pid now belongs to
		// another process.
		pid = 0
	}
	if pid != 0 && !slices.Contains(pids, pid) {
		pids = append(pids, pid)
	}
	stopped, err := a.stopDaemons(ctx, req, pids, cfg.LogPath())
	if err != nil || !stopped {
		return err
	}
	os.Remove(cfg.PIDPath())
	if rec != nil {
		removePIDFile(ctx, rec.pidPath(), rec.PID)
	}
	return dropRecord(req)
}

// stopDaemons ends the daemons pids (each checked to be one just before), unless this
// node lost quorum: then they keep running and stopped is false.
func (a *agent) stopDaemons(ctx context.Context, req *ocf.Request, pids []int, logPath string) (stopped bool, err error) {
	if len(pids) == 0 {
		return true, nil
	}
	partitioned, why := a.partitioned(ctx)
	req.Log.Infof("quorum check before stopping the heartbeat: %s", why)
	if partitioned {
		// Pacemaker stops everything in a partition without quorum, but the
		// daemon is how the quorate side fences this node: it must go on
		// reading its slot (and feeding the watchdog only while healthy)
		// until the fence message comes. A probe finds it again if the node
		// rejoins unfenced.
		req.Log.Warnf("this node lost quorum: the heartbeat daemon (pid %s) keeps running, so that this node can be fenced through it", pidString(pids))
		return false, nil
	}
	for _, pid := range pids {
		if err := a.terminate(ctx, req, pid); err != nil {
			return false, err
		}
	}
	req.Log.Infof("heartbeat daemon stopped: %s", lastLines(logPath, 1))
	return true, nil
}

// terminate ends one daemon: TERM (its clean stop disarms the watchdog), KILL at the
// deadline.
func (a *agent) terminate(ctx context.Context, req *ocf.Request, pid int) error {
	if err := a.procs.Signal(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	for a.procs.IsDaemon(pid) {
		select {
		case <-ctx.Done():
			req.Log.Errorf("the heartbeat daemon (pid %d) did not stop in time: killing it; its watchdog stays armed and will reset this host", pid)
			a.procs.Signal(pid, syscall.SIGKILL)
			return a.waitGone(pid)
		case <-time.After(poll):
		}
	}
	return nil
}

func (a *agent) waitGone(pid int) error {
	for i := 0; i < 40 && a.procs.IsDaemon(pid); i++ {
		time.Sleep(poll)
	}
	if a.procs.IsDaemon(pid) {
		return fmt.Errorf("the heartbeat daemon (pid %d) survives SIGKILL", pid)
	}
	return nil
}

func (a *agent) monitor(ctx context.Context, req *ocf.Request) error {
	cfg, err := config(req)
	if err != nil {
		return err
	}
	pid, died, err := a.daemonPID(ctx, cfg)
	switch {
	case err != nil:
		return err
	case died:
		return ocf.Errorf(ocf.ErrGeneric, "the heartbeat daemon died; see %s", lastLines(cfg.LogPath(), 2))
	case pid == 0:
		return ocf.Exit(ocf.NotRunning)
	}
	rctx, cancel := context.WithTimeout(ctx, readBound(ctx))
	st, err := heartbeat.ReadStateContext(rctx, cfg.StateDir)
	cancel()
	now := a.now()
	switch {
	case err != nil:
		return ocf.Errorf(ocf.ErrGeneric, "the heartbeat daemon (pid %d) has no readable state: %v", pid, err)
	case st.PID != pid:
		return ocf.Errorf(ocf.ErrGeneric, "the state file is not the running daemon's (pid %d, not %d)", st.PID, pid)
	case stuck(st, now):
		return ocf.Errorf(ocf.ErrGeneric, "the heartbeat daemon (pid %d) is stuck: its state is %.1fs old", pid, st.Age(now).Seconds())
	case st.Phase == heartbeat.PhaseFencing:
		return ocf.Errorf(ocf.ErrGeneric, "this host is fencing itself (fence message %s)", fenceID(st))
	case !st.Healthy:
		return ocf.Errorf(ocf.ErrGeneric, "no quorum of backends (%d needed): %s", st.Quorum, backendSummary(st))
	}
	for _, b := range st.Backends {
		if !b.OK {
			req.Log.Warnf("backend %s fails: %s", b.URI, b.Error)
		}
	}
	return nil
}

// stuck says whether the daemon's state is too old for its loop to be running: older than
// its timeout, past which the daemon stops feeding the watchdog itself. A state only a few
// intervals old is a daemon that was not scheduled for a while (a busy host, a stalled VM)
// and still guards the host; failing the monitor for it would have Pacemaker restart the
// heartbeat, whose clean stop writes a "stopped" record and disarms the watchdog: the host
// could not be proven dead by staleness until the new daemon is healthy. (Found with the
// kernel VM pair under Pacemaker: 6-8 s stalls of TCG guests failed the monitor of a daemon
// with a 30 s timeout, and every restart opened that window.)
func stuck(st *heartbeat.State, now time.Duration) bool {
	return !st.Fresh(now) && st.Age(now) >= st.Timeout.D()
}

func fenceID(st *heartbeat.State) string {
	if st.Fence == nil {
		return "?"
	}
	return st.Fence.ID
}

// backendSummary says how each backend fares.
func backendSummary(st *heartbeat.State) string {
	var parts []string
	for _, b := range st.Backends {
		if b.OK {
			parts = append(parts, b.URI+" ok")
		} else {
			e := b.Error
			if e == "" {
				e = "not written yet"
			}
			parts = append(parts, b.URI+": "+e)
		}
	}
	return strings.Join(parts, "; ")
}

// lastLines returns the last n lines of a log file, for exit reasons.
func lastLines(path string, n int) string {
	// Non-blocking: whatever sits at the path (a FIFO) must not hold the action.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return path
	}
	defer f.Close()
	buf := make([]byte, 4096)
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return path
	}
	off := max(fi.Size()-int64(len(buf)), 0)
	m, _ := f.ReadAt(buf, off)
	lines := strings.Split(strings.TrimRight(string(buf[:m]), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return path + ": " + strings.Join(lines, " | ")
}
