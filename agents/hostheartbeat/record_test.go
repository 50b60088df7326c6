package hostheartbeat

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/files/filestest"
	"github.com/kvmha/kvmha/internal/ocf"
	"github.com/kvmha/kvmha/internal/ocf/ocftest"
)

func (e *env) recordPath() string {
	return filepath.Join(e.vars.RscTmp(), "kvmha-HostHeartbeat-hb:0.record")
}

func (e *env) record() *daemonRecord {
	e.t.Helper()
	rec, ok := ocftest.ReadRecord[daemonRecord](e.t, e.recordPath())
	if !ok {
		return nil
	}
	return &rec
}

// startDaemon starts the resource and returns the daemon's pid.
func (e *env) startDaemon() int {
	e.t.Helper()
	if code, msg := e.run("start"); code != 0 {
		e.t.Fatalf("start: %d %s", code, msg)
	}
	pid := e.pid()
	rec := e.record()
	if rec == nil || rec.PID != pid || rec.StartTime != uint64(pid)*100 || rec.Boot != "boot-1" ||
		rec.StateDir != e.vars["OCF_RESKEY_state_dir"] || rec.Config != filepath.Join(rec.StateDir, "heartbeat.conf") {
		e.t.Fatalf("start recorded %+v for pid %d", rec, pid)
	}
	return pid
}

// A stop whose parameters became unusable after start stops the daemon start launched,
// found through the record, and drops the record.
func TestStopWithATypoStopsTheRecordedDaemon(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	for _, typo := range []string{
		"OCF_RESKEY_interval=0",                  // the agent's own check
		"OCF_RESKEY_interval=abc",                // the runtime's type check
		"OCF_RESKEY_interval=9999999999",         // too large
		"OCF_RESKEY_backends=bogus://x",          // no such backend
		"OCF_RESKEY_state_dir=relative",          // not absolute
		"OCF_RESKEY_state_dir=" + file,           // not a directory
		"OCF_RESKEY_watchdog_device=watchdog0",   // not a device path
		"OCF_RESKEY_storage_attribute=a b",       // no attribute name
		"OCF_RESKEY_watchdog_timeout=-922337203", // negative
	} {
		t.Run(typo, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			pid := e.startDaemon()
			code, msg := e.run("stop", typo)
			if code != 0 || !strings.Contains(msg, "record") {
				t.Fatalf("stop: %d %s", code, msg)
			}
			if e.sys.IsDaemon(pid) {
				t.Fatal("the daemon start launched still runs")
			}
			if e.record() != nil {
				t.Fatal("the record stays")
			}
			if code, _ := e.run("monitor", "OCF_RESKEY_CRM_meta_interval=0"); code != int(ocf.NotRunning) {
				t.Fatalf("probe after the stop: %d", code)
			}
		})
	}
}

// Pacemaker stops with the parameters it has now: when state_dir changed (validly) since
// start, the pid file of the new one names nothing, and the record names the daemon.
func TestStopAfterStateDirChangedStopsTheRecordedDaemon(t *testing.T) {
	e := newEnv(t)
	pid := e.startDaemon()
	code, msg := e.run("stop", "OCF_RESKEY_state_dir="+filepath.Join(e.dir, "elsewhere"))
	if code != 0 || e.sys.IsDaemon(pid) || e.record() != nil {
		t.Fatalf("stop: %d %s; daemon running: %v", code, msg, e.sys.IsDaemon(pid))
	}
}

// A pid the record names that now belongs to another process (even another heartbeat
// daemon) is never signalled: the recorded daemon is gone, the record too.
func TestStopRecordedSparesAReusedPID(t *testing.T) {
	for name, typo := range map[string]string{"agent check": "OCF_RESKEY_interval=0", "type check": "OCF_RESKEY_interval=abc",
		"valid": "OCF_RESKEY_interval=1"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			pid := e.startDaemon()
			e.sys.crash(pid)
			other := &fakeProc{cancel: func() {}, done: make(chan struct{}), started: uint64(pid)*100 + 7}
			e.sys.mu.Lock()
			e.sys.procs[pid] = other
			e.sys.signalled = nil
			e.sys.mu.Unlock()
			code, msg := e.run("stop", typo)
			if code != 0 {
				t.Fatalf("stop: %d %s", code, msg)
			}
			e.sys.mu.Lock()
			signalled := slices.Contains(e.sys.signalled, pid)
			e.sys.mu.Unlock()
			if signalled {
				t.Fatalf("signalled pid %d, which another process now has", pid)
			}
			if e.record() != nil {
				t.Fatal("the record stays")
			}
			if !e.sys.IsDaemon(pid) {
				t.Fatal("the other process was stopped")
			}
		})
	}
}

// Without a record, invalid parameters prove nothing was started: stop succeeds, a probe
// says not running, even for a state_dir that is a file, a FIFO or a device.
func TestInvalidParametersWithoutARecord(t *testing.T) {
	dir := t.TempDir()
	file, fifo := filepath.Join(dir, "file"), filestest.FIFO(t, filepath.Join(dir, "fifo"))
	os.WriteFile(file, nil, 0o644)
	for _, bad := range []string{"OCF_RESKEY_interval=0", "OCF_RESKEY_backends=bogus://x", "OCF_RESKEY_state_dir=relative",
		"OCF_RESKEY_state_dir=" + file, "OCF_RESKEY_state_dir=" + fifo, "OCF_RESKEY_state_dir=/dev/zero",
		"OCF_RESKEY_state_dir=" + file + "/below"} {
		e := newEnv(t)
		if code, msg := e.run("stop", bad); code != 0 {
			t.Errorf("stop with %s: %d %s", bad, code, msg)
		}
		if code, msg := e.run("monitor", bad, "OCF_RESKEY_CRM_meta_interval=0"); code != int(ocf.NotRunning) {
			t.Errorf("probe with %s: %d %s", bad, code, msg)
		}
		if code, msg := e.run("validate-all", bad); code != int(ocf.ErrConfigured) {
			t.Errorf("validate-all with %s: %d %s", bad, code, msg)
		}
	}
}

// A record that cannot be parsed does not tell which process to stop: a stop that has
// nothing else to go on fails and says so; one with usable parameters stops their daemon.
func TestCorruptAgentRecord(t *testing.T) {
	e := newEnv(t)
	pid := e.startDaemon()
	os.WriteFile(e.recordPath(), []byte("{garbage"), 0o600)
	code, msg := e.run("stop", "OCF_RESKEY_interval=0")
	if code != int(ocf.ErrGeneric) || !strings.Contains(msg, "corrupt") || !e.sys.IsDaemon(pid) {
		t.Fatalf("stop with a corrupt record and a typo: %d %s", code, msg)
	}
	code, msg = e.run("stop")
	if code != 0 || e.sys.IsDaemon(pid) || e.record() != nil {
		t.Fatalf("stop with a corrupt record: %d %s", code, msg)
	}
}

// Durations are whole seconds: ones that would overflow are too large, named.
func TestDurationOverflow(t *testing.T) {
	for _, p := range []string{pInterval, pTimeout, pWatchdogTimeout} {
		for _, v := range []string{"9999999999", "9223372036854775807", "601"} {
			e := newEnv(t)
			e.vars["OCF_RESKEY_watchdog_device"] = "file:" + filepath.Join(e.dir, "wd")
			code, msg := e.run("validate-all", "OCF_RESKEY_"+p+"="+v)
			if code != int(ocf.ErrConfigured) || !strings.Contains(msg, "ocf-exit-reason:"+p+": "+v+" seconds is too large") {
				t.Errorf("%s=%s: %d %s", p, v, code, msg)
			}
		}
		e := newEnv(t)
		code, msg := e.run("validate-all", "OCF_RESKEY_"+p+"=-9223372036854775808")
		if code != int(ocf.ErrConfigured) || !strings.Contains(msg, "ocf-exit-reason:"+p+": ") {
			t.Errorf("%s negative: %d %s", p, code, msg)
		}
	}
}

// Every configuration error names its parameter, first.
func TestConfigurationErrorsNameTheParameter(t *testing.T) {
	hostile := filestest.NewHostile(t)
	dir, fifo := hostile.Dir, hostile.FIFO
	for param, value := range map[string]string{
		pBackends: "-1", pWatchdogDevice: "a b/c", pAttribute: "a b/c", pStateDir: "a\nb", pSelfFence: "halt",
		pInterval: "0", pTimeout: "1", pCephConf: dir, pCephKeyring: fifo,
	} {
		e := newEnv(t)
		if param == pCephConf {
			e.vars["OCF_RESKEY_backends"] += " rados://rbd"
		}
		code, msg := e.run("validate-all", "OCF_RESKEY_"+param+"="+value)
		if code != int(ocf.ErrConfigured) || !strings.Contains(msg, "ocf-exit-reason:"+param+": ") {
			t.Errorf("%s=%q: %d %s", param, value, code, msg)
		}
	}
	e := newEnv(t)
	e.vars["OCF_RESKEY_backends"] = "rados://rbd"
	if code, msg := e.run("validate-all", "OCF_RESKEY_ceph_conf=/nonexistent/ceph.conf"); code != int(ocf.ErrInstalled) ||
		!strings.Contains(msg, "ocf-exit-reason:ceph_conf: ") {
		t.Errorf("missing ceph_conf with a rados backend: %d %s", code, msg)
	}
	e = newEnv(t)
	if code, msg := e.run("validate-all", "OCF_RESKEY_ceph_conf=/nonexistent/ceph.conf"); code != 0 {
		t.Errorf("missing ceph_conf without a rados backend: %d %s", code, msg)
	}
	e = newEnv(t)
	if code, msg := e.run("validate-all", "OCF_RESKEY_kvmha_binary=/nonexistent"); code != int(ocf.ErrInstalled) ||
		!strings.Contains(msg, "ocf-exit-reason:kvmha_binary: ") {
		t.Errorf("missing kvmha_binary: %d %s", code, msg)
	}
}

func TestRealStartTime(t *testing.T) {
	st, err := (hostProcesses{}).StartTime(os.Getpid())
	if err != nil || st == 0 {
		t.Fatal(st, err)
	}
	if st2, _ := (hostProcesses{}).StartTime(os.Getpid()); st2 != st {
		t.Fatal("the start time changed")
	}
	if _, err := (hostProcesses{}).StartTime(1 << 30); err == nil {
		t.Fatal("a start time for no process")
	}
	if productionDeps().bootID() == "" {
		t.Fatal("no boot id")
	}
}
