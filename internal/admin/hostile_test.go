package admin

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/files/filestest"
)

// Files given by flags are read bounded: a FIFO, a device or a directory is refused at
// once (exit 2, bad input), never read until memory or time runs out.
func TestHostileInputFiles(t *testing.T) {
	hostile := filestest.NewHostile(t)
	dir, fifo := hostile.Dir, hostile.FIFO
	cfg := testConfig(t)
	for _, args := range [][]string{
		{"heartbeat", "run", "--syslog=false", "--config", fifo},
		{"heartbeat", "run", "--syslog=false", "--config", "/dev/zero"},
		{"heartbeat", "run", "--syslog=false", "--config", dir},
		{"heartbeat", "status", "--timeout", "2s", "--state-dir", fifo},
		{"heartbeat", "status", "--timeout", "2s", "--backends", "rados://rbd", "--ceph-conf", fifo},
		{"heartbeat", "status", "--timeout", "2s", "--backends", "rados://rbd", "--ceph-conf", "/dev/zero"},
		{"heartbeat", "status", "--timeout", "2s", "--backends", cfg.Backends[0] + ",rados://rbd", "--ceph-keyring", fifo},
		{"capacity", "--timeout", "2s", "--cib", fifo},
		{"capacity", "--timeout", "2s", "--cib", "/dev/zero"},
		{"capacity", "--timeout", "2s", "--cib", dir},
	} {
		start := time.Now()
		code, _, errs := run(args...)
		if code != 2 || time.Since(start) > time.Second || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%s: exit %d after %s: %s", strings.Join(args, " "), code, time.Since(start), errs)
		}
	}
	// The daemon's configuration names a Ceph file librados would hang on.
	cfg.Backends = append(cfg.Backends, "rados://rbd")
	cfg.CephConf = fifo
	cfg.Write()
	if code, _, errs := run("heartbeat", "run", "--syslog=false", "--config", cfg.ConfigPath()); code != 2 || !strings.Contains(errs, "ceph_conf") {
		t.Errorf("a FIFO as ceph_conf: %d %s", code, errs)
	}
}

// --cib - with a stdin its writer never closes gives up at --timeout.
func TestCapacityStdinNeverClosed(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old }()
	w.WriteString("<cib")
	start := time.Now()
	code, _, errs := run("capacity", "--timeout", "500ms", "--cib", "-")
	if code != 2 || time.Since(start) > 3*time.Second || !strings.Contains(errs, "not closed") {
		t.Fatalf("exit %d after %s: %s", code, time.Since(start), errs)
	}
}

// A boolean flag takes what strconv.ParseBool takes: --syslog=0 is false, not an error.
func TestSyslogZero(t *testing.T) {
	code, _, errs := run("heartbeat", "run", "--syslog=0", "--config", "/nonexistent")
	if code != 2 || strings.Contains(errs, "invalid") || !strings.Contains(errs, "/nonexistent") {
		t.Fatalf("%d %s", code, errs)
	}
	if code, _, _ := run("heartbeat", "run", "--syslog=maybe", "--config", "/nonexistent"); code != 2 {
		t.Fatalf("--syslog=maybe: %d", code)
	}
}

// Findings that quote a flag's value never print a key.
func TestDoctorRedactsKeys(t *testing.T) {
	key := "AQhostile1hostile2hostile3hostile4host=="
	code, out, errs := run("doctor", "--check", "node-name", "--timeout", "2s", "--heartbeat-state-dir", "secret="+key)
	if code > 1 || strings.Contains(out+errs, key) {
		t.Fatalf("%d %s %s", code, out, errs)
	}
	code, out, errs = run("doctor", "--check", "node-name", "--timeout", "2s", "--output", "json", "--heartbeat-state-dir", "secret="+key)
	if code > 1 || strings.Contains(out+errs, key) {
		t.Fatalf("json: %d %s %s", code, out, errs)
	}
}
