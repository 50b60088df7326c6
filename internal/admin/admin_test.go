package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/service"
)

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(append([]string{"kvmha"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func testConfig(t *testing.T) *heartbeat.Config {
	dir := t.TempDir()
	shared := filepath.Join(dir, "shared")
	os.Mkdir(shared, 0o755)
	cfg := &heartbeat.Config{Node: "node1", Backends: []string{"file://" + shared},
		Interval: heartbeat.Duration(100 * time.Millisecond), Timeout: heartbeat.Duration(400 * time.Millisecond),
		WatchdogDevice: "file:" + dir + "/wd-%n", WatchdogTimeout: heartbeat.Duration(time.Second),
		SelfFence: "exec:/bin/true", StateDir: filepath.Join(dir, "run")}
	os.Mkdir(cfg.StateDir, 0o755)
	if err := cfg.Write(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestRunAndStatus(t *testing.T) {
	cfg := testConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	log := service.NewLog(io.Discard, false)
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, cfg.ConfigPath(), log, os.Stderr) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := heartbeat.ReadState(cfg.StateDir)
		if err == nil && st.Healthy && st.WatchdogArmed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the daemon did not get healthy")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg.StateDir), "wd-node1")); err != nil {
		t.Fatalf("file watchdog not fed: %v", err)
	}
	// A second daemon on the same state directory is refused.
	if err := service.Run(ctx, cfg.ConfigPath(), log, os.Stderr); err == nil || !strings.Contains(err.Error(), "another heartbeat daemon") {
		t.Fatalf("second daemon: %v", err)
	}
	code, out, errs := run("heartbeat", "status", "--state-dir", cfg.StateDir)
	if code != 0 || !strings.Contains(out, "node1") || !strings.Contains(out, "local daemon on node1: running, healthy") {
		t.Fatalf("status: %d %s %s", code, out, errs)
	}
	code, out, _ = run("heartbeat", "status", "--state-dir", cfg.StateDir, "--output", "json")
	var js statusOutput
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || len(js.Hosts) != 1 || js.Hosts[0].State != "running" || js.Local == nil {
		t.Fatalf("json: %d %s", code, out)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("daemon: %v", err)
	}
	if _, err := os.Stat(cfg.PIDPath()); !os.IsNotExist(err) {
		t.Fatal("pid file left after a clean stop")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg.StateDir), "wd-node1")); !os.IsNotExist(err) {
		t.Fatal("file watchdog not disarmed")
	}
	code, out, _ = run("heartbeat", "status", "--backends", cfg.Backends[0], "--state-dir", "/nonexistent")
	if code != 0 || !strings.Contains(out, "stopped") {
		t.Fatalf("status --backends: %d %s", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	if code, _, errs := run("heartbeat", "status", "--state-dir", t.TempDir()); code != 2 || !strings.Contains(errs, "give --backends") {
		t.Fatalf("no config: %d %s", code, errs)
	}
	if code, _, _ := run("heartbeat", "status", "--output", "yaml"); code != 2 {
		t.Fatal("bad output")
	}
	if code, _, _ := run("heartbeat", "status", "--backends", "nfs://x"); code != 2 {
		t.Fatal("bad backends")
	}
	if code, _, _ := run("heartbeat", "run", "--config", "/nonexistent", "--syslog=false"); code != 2 {
		t.Fatal("missing config")
	}
	bad := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(bad, []byte(`{"node":"a b"}`), 0o600)
	if code, _, _ := run("heartbeat", "run", "--config", bad, "--syslog=false"); code != 2 {
		t.Fatal("invalid config")
	}
	if code, _, _ := run("heartbeat", "format"); code != 2 {
		t.Fatal("format without a device")
	}
	if code, _, _ := run("heartbeat", "format", "rados://x"); code != 2 {
		t.Fatal("format of rados")
	}
	if code, _, _ := run("heartbeat", "format", "nope"); code != 2 {
		t.Fatal("format of garbage")
	}
	if code, out, _ := run("--version"); code != 0 || !strings.Contains(out, version) {
		t.Fatal("version")
	}
}

func TestFormat(t *testing.T) {
	img := filepath.Join(t.TempDir(), "hb.img")
	os.WriteFile(img, nil, 0o600)
	os.Truncate(img, heartbeat.DeviceSize(8))
	code, out, errs := run("heartbeat", "format", "--slots", "8", "block://"+img)
	if code != 0 || !strings.Contains(out, "8 slots") {
		t.Fatalf("%d %s %s", code, out, errs)
	}
	if code, _, _ := run("heartbeat", "format", "--slots", "9", "block://"+img); code != 1 {
		t.Fatal("formatted 9 slots into room for 8")
	}
}
