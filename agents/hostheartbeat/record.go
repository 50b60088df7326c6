package hostheartbeat

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/ocf"
)

// daemonRecord is what start keeps (in HA_RSCTMP, see ocf.Request.SaveRecord) about the
// daemon it launched, so that a stop whose parameters have since become unusable (a typo
// in interval, a state_dir changed to a file) still stops exactly that daemon, and no
// other process that was later given its pid.
type daemonRecord struct {
	PID int `json:"pid"`
	// StartTime is the daemon's /proc/PID/stat start time, and Boot the kernel's boot id
	// when it was recorded: together with the pid, they name one process.
	StartTime uint64 `json:"start_time"`
	Boot      string `json:"boot_id,omitempty"`
	StateDir  string `json:"state_dir"`
	Config    string `json:"config"`
}

func (r *daemonRecord) pidPath() string { return (&heartbeat.Config{StateDir: r.StateDir}).PIDPath() }
func (r *daemonRecord) logPath() string { return (&heartbeat.Config{StateDir: r.StateDir}).LogPath() }

// record saves what stop needs about the daemon pid of cfg.
func (a *agent) record(req *ocf.Request, cfg *heartbeat.Config, pid int) error {
	st, err := a.procs.StartTime(pid)
	if err != nil {
		return fmt.Errorf("the heartbeat daemon (pid %d) vanished: %w", pid, err)
	}
	rec := daemonRecord{PID: pid, StartTime: st, Boot: a.bootID(), StateDir: cfg.StateDir, Config: cfg.ConfigPath()}
	if err := req.SaveRecord(&rec); err != nil {
		return fmt.Errorf("cannot record the heartbeat daemon (pid %d) in %s: %w", pid, req.RecordPath(), err)
	}
	return nil
}

// loadRecord reads this node's record: nil when there is none.
func loadRecord(req *ocf.Request) (*daemonRecord, error) {
	var rec daemonRecord
	ok, err := req.LoadRecord(&rec)
	if err != nil || !ok {
		return nil, err
	}
	return &rec, nil
}

// ours reports whether the process the record names still runs: the same boot, a
// heartbeat daemon, started when the recorded one was. A pid reused by anything else,
// even another heartbeat daemon, is not ours.
func (a *agent) ours(rec *daemonRecord) bool {
	if rec.PID <= 1 || (rec.Boot != "" && rec.Boot != a.bootID()) || !a.procs.IsDaemon(rec.PID) {
		return false
	}
	st, err := a.procs.StartTime(rec.PID)
	return err == nil && st == rec.StartTime
}

// stopRecorded is Agent.StopRecorded: the parameters cannot be used, but this node's
// record says start launched a daemon here. It stops that daemon and no other, using the
// record only.
func (a *agent) stopRecorded(ctx context.Context, req *ocf.Request) error {
	rec, err := loadRecord(req)
	switch {
	case err != nil:
		return ocf.Errorf(ocf.ErrGeneric, "%v; cannot tell which heartbeat daemon to stop: end it by hand (kill the \"kvmha heartbeat run\" process), then remove the record", err)
	case rec == nil:
		return nil
	}
	var pids []int
	if a.ours(rec) {
		pids = append(pids, rec.PID)
	} else {
		req.Log.Infof("the heartbeat daemon this node's record names (pid %d, state_dir %s) is no longer running", rec.PID, rec.StateDir)
	}
	stopped, err := a.stopDaemons(ctx, req, pids, rec.logPath())
	if err != nil || !stopped {
		return err
	}
	removePIDFile(ctx, rec.pidPath(), rec.PID)
	return dropRecord(req)
}

// removePIDFile removes a pid file left by a daemon that did not end cleanly, but only
// if it still names that daemon: another one may have written it since.
func removePIDFile(ctx context.Context, path string, pid int) {
	if got, err := readPID(ctx, path); err == nil && got == pid {
		os.Remove(path)
	}
}

func dropRecord(req *ocf.Request) error {
	if err := req.DropRecord(); err != nil {
		return fmt.Errorf("the heartbeat daemon is stopped, but its record stays: %w", err)
	}
	return nil
}

// pidString is for log lines.
func pidString(pids []int) string {
	s := ""
	for i, p := range pids {
		if i > 0 {
			s += ", "
		}
		s += strconv.Itoa(p)
	}
	return s
}
