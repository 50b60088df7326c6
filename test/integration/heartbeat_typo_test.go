//go:build lab

package integration

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/radosbackend"
)

// hbAgent runs the built ocf:kvmha:HostHeartbeat as Pacemaker does, on this host, with a
// daemon writing to a RADOS namespace of the lab's Ceph and a directory, a file: watchdog.
type hbAgent struct {
	t      *testing.T
	bin    string
	vars   map[string]string
	rsctmp string
	state  string
	// started lists the daemons' pids, for the cleanup.
	started []int
}

func newHBAgent(t *testing.T) *hbAgent {
	env := heartbeatEnv(t, "CEPH_CONF", "CEPH_KEYRING", "CEPH_USER", "CEPH_POOL")
	bin, kvmha := buildAgent(t, "cmd/HostHeartbeat"), buildAgent(t, "cmd/kvmha")
	dir := t.TempDir()
	shared := filepath.Join(dir, "shared")
	os.Mkdir(shared, 0o755)
	a := &hbAgent{t: t, bin: bin, rsctmp: filepath.Join(dir, "rsctmp"), state: filepath.Join(dir, "state")}
	a.vars = map[string]string{
		"backends":          "rados://" + env["CEPH_POOL"] + "/" + uniqueName("hbtypo") + ",file://" + shared,
		"ceph_conf":         env["CEPH_CONF"],
		"ceph_user":         env["CEPH_USER"],
		"ceph_keyring":      env["CEPH_KEYRING"],
		"watchdog_device":   "file:" + filepath.Join(dir, "wd-%n"),
		"self_fence":        "exec:/bin/true",
		"storage_attribute": "none", // no attribute on the lab's cluster node
		"libvirt_uri":       "none",
		"state_dir":         a.state,
		"kvmha_binary":      kvmha,
	}
	t.Cleanup(func() {
		// Whatever the test left: end the daemon (a clean TERM disarms the watchdog file).
		if pid := a.pid(); pid > 0 && isHeartbeatDaemon(pid) {
			syscall.Kill(pid, syscall.SIGTERM)
		}
		for _, pid := range a.started {
			if isHeartbeatDaemon(pid) {
				syscall.Kill(pid, syscall.SIGTERM)
			}
		}
	})
	return a
}

// run runs one action; extra are OCF_RESKEY_ overrides (name=value).
func (a *hbAgent) run(action string, extra ...string) (int, string) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.bin, action)
	vars := map[string]string{}
	for k, v := range a.vars {
		vars[k] = v
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HA_RSCTMP=" + a.rsctmp, "OCF_ROOT=/usr/lib/ocf",
		"OCF_RESOURCE_INSTANCE=hb-typo:0", "OCF_RESOURCE_TYPE=HostHeartbeat",
		"OCF_RESKEY_CRM_meta_on_node=hbtypo", "OCF_RESKEY_CRM_meta_timeout=30000"}
	if action == "monitor" {
		cmd.Env = append(cmd.Env, "OCF_RESKEY_CRM_meta_interval=0")
	}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, "OCF_RESKEY_"+k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		a.t.Fatalf("%s: %v", action, err)
	}
	return 0, string(out)
}

func (a *hbAgent) pid() int {
	b, _ := os.ReadFile(filepath.Join(a.state, "heartbeat.pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func (a *hbAgent) recordPath() string {
	return filepath.Join(a.rsctmp, "kvmha-HostHeartbeat-hb-typo:0.record")
}

// isHeartbeatDaemon: pid runs "kvmha heartbeat run" (and is no zombie).
func isHeartbeatDaemon(pid int) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !strings.Contains(string(cmdline), "heartbeat\x00run\x00") {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	i := strings.LastIndexByte(string(stat), ')')
	return err == nil && i > 0 && i+2 < len(stat) && stat[i+2] != 'Z'
}

// start starts the resource and returns its daemon's pid, checking the daemon runs and
// the record names it.
func (a *hbAgent) start() int {
	a.t.Helper()
	if code, out := a.run("start"); code != 0 {
		a.t.Fatalf("start: %d\n%s", code, out)
	}
	pid := a.pid()
	if !isHeartbeatDaemon(pid) {
		a.t.Fatalf("no heartbeat daemon runs after start (pid file: %d)", pid)
	}
	a.started = append(a.started, pid)
	var rec struct {
		PID      int    `json:"pid"`
		StateDir string `json:"state_dir"`
	}
	data, err := os.ReadFile(a.recordPath())
	if err != nil || json.Unmarshal(data, &rec) != nil || rec.PID != pid || rec.StateDir != a.state {
		a.t.Fatalf("the record after start: %s %v (daemon pid %d)", data, err, pid)
	}
	if code, out := a.run("monitor"); code != 0 {
		a.t.Fatalf("probe of the running daemon: %d\n%s", code, out)
	}
	return pid
}

// TestHostHeartbeatStopWithTypo is issue 12's proof for ocf:kvmha:HostHeartbeat: a daemon
// the agent started (on the lab's Ceph and a directory) is stopped, cleanly, by a stop
// whose parameters became unusable after start, from the record start kept; the record
// goes with it. Without a record such a stop succeeds and a probe says "not running"; a
// recorded pid that no longer names the recorded process is not signalled.
func TestHostHeartbeatStopWithTypo(t *testing.T) {
	a := newHBAgent(t)
	env := heartbeatEnv(t, "CEPH_CONF", "CEPH_KEYRING", "CEPH_USER", "CEPH_POOL")
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)

	for _, typo := range []string{"interval=0", "interval=abc", "backends=bogus://x", "state_dir=" + file, "timeout=9999999999"} {
		pid := a.start()
		code, out := a.run("stop", typo)
		if code != 0 {
			t.Fatalf("stop with %s: %d\n%s", typo, code, out)
		}
		waitFor(t, 10*time.Second, "the daemon to end", func() bool { return !isHeartbeatDaemon(pid) })
		if _, err := os.Stat(a.recordPath()); !os.IsNotExist(err) {
			t.Fatalf("stop with %s left the record (%v)", typo, err)
		}
		// A clean stop (TERM, not KILL): the watchdog disarmed, "stopped" on every backend.
		if _, err := os.Stat(filepath.Join(filepath.Dir(a.rsctmp), "wd-hbtypo")); !os.IsNotExist(err) {
			t.Fatalf("stop with %s left the watchdog armed (%v)", typo, err)
		}
		specs, _ := heartbeat.ParseBackends(a.vars["backends"])
		cephCfg := ceph.Config{ConfPath: env["CEPH_CONF"], User: env["CEPH_USER"], Keyring: env["CEPH_KEYRING"]}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		bs, err := heartbeat.OpenAll(ctx, specs, radosbackend.Opener(cephCfg, 10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			rec, err := heartbeat.ReadRecordOf(ctx, b, "hbtypo")
			if err != nil || rec.State != heartbeat.StateStopped {
				t.Fatalf("record on %s after stop with %s: %+v %v", b.URI(), typo, rec, err)
			}
			b.Close()
		}
		cancel()
		t.Logf("stop with %s: the daemon (pid %d) stopped cleanly, the record dropped:\n%s", typo, pid, out)

		// Nothing recorded now: the same stop succeeds at once, a probe says not running.
		if code, out := a.run("stop", typo); code != 0 {
			t.Fatalf("second stop with %s: %d\n%s", typo, code, out)
		}
		if code, out := a.run("monitor", typo); code != 7 {
			t.Fatalf("probe with %s: %d\n%s", typo, code, out)
		}
	}

	// The record names a pid whose process is not the recorded one any more (as when the
	// daemon died and the pid was reused): that process is never signalled.
	pid := a.start()
	data, _ := os.ReadFile(a.recordPath())
	var rec map[string]any
	json.Unmarshal(data, &rec)
	rec["start_time"] = rec["start_time"].(float64) - 1
	data, _ = json.Marshal(rec)
	os.WriteFile(a.recordPath(), data, 0o600)
	if code, out := a.run("stop", "interval=0"); code != 0 || !strings.Contains(out, "no longer running") {
		t.Fatalf("stop with a reused pid: %d\n%s", code, out)
	}
	time.Sleep(2 * time.Second)
	if !isHeartbeatDaemon(pid) {
		t.Fatal("the stop signalled a process the record does not name")
	}
	if _, err := os.Stat(a.recordPath()); !os.IsNotExist(err) {
		t.Fatalf("the record stays (%v)", err)
	}
	// The stop took the pid file for a stale one too; end the daemon here.
	syscall.Kill(pid, syscall.SIGTERM)
	waitFor(t, 10*time.Second, "the daemon to end", func() bool { return !isHeartbeatDaemon(pid) })
}
