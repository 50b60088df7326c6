package heartbeat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	good := testConfig(t, 2)
	if _, err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(c *Config){
		"node":        func(c *Config) { c.Node = "a b" },
		"backends":    func(c *Config) { c.Backends = nil },
		"interval":    func(c *Config) { c.Interval = Duration(time.Millisecond) },
		"timeout":     func(c *Config) { c.Timeout = c.Interval },
		"timeout max": func(c *Config) { c.Timeout = Duration(time.Hour) },
		"watchdog":    func(c *Config) { c.WatchdogTimeout = 0 },
		"device":      func(c *Config) { c.WatchdogDevice = "watchdog0" },
		"file dev":    func(c *Config) { c.WatchdogDevice = "file:relative" },
		"self fence":  func(c *Config) { c.SelfFence = "halt" },
		"exec":        func(c *Config) { c.SelfFence = "exec:relative" },
		"attribute":   func(c *Config) { c.StorageAttribute = "a b" },
		"state dir":   func(c *Config) { c.StateDir = "run" },
	}
	for name, f := range bad {
		c := testConfig(t, 2)
		f(&c)
		if _, err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c := testConfig(t, 1)
	c.WatchdogDevice, c.WatchdogTimeout = "none", 0
	if _, err := c.Validate(); err != nil {
		t.Fatalf("no watchdog needs no timeout: %v", err)
	}
}

func TestConfigFile(t *testing.T) {
	c := testConfig(t, 2)
	if err := c.Write(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(c.ConfigPath())
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	got, err := ReadConfig(c.ConfigPath())
	if err != nil || got.Interval != c.Interval || strings.Join(got.Backends, " ") != strings.Join(c.Backends, " ") {
		t.Fatalf("%+v %v", got, err)
	}
	raw, _ := os.ReadFile(c.ConfigPath())
	if !bytes.Contains(raw, []byte(`"interval": "100ms"`)) {
		t.Fatalf("durations are not readable: %s", raw)
	}
	for _, bad := range []string{`{`, `{"interval": 5}`, `{"interval": "5 parsecs"}`} {
		os.WriteFile(c.ConfigPath(), []byte(bad), 0o600)
		if _, err := ReadConfig(c.ConfigPath()); err == nil {
			t.Errorf("%s: read", bad)
		}
	}
	os.WriteFile(c.ConfigPath(), bytes.Repeat([]byte(" "), 2<<20), 0o600)
	if _, err := ReadConfig(c.ConfigPath()); err == nil {
		t.Error("read a huge file")
	}
	if _, err := ReadConfig(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("read a missing file")
	}
	if err := (&Config{StateDir: "/nonexistent/dir"}).Write(); err == nil {
		t.Error("wrote into a missing directory")
	}
	if c.PIDPath() == "" || c.LogPath() == "" || c.StatePath() != StatePath(c.StateDir) {
		t.Error("paths")
	}
}

func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadState(dir); err == nil {
		t.Fatal("read a missing state")
	}
	s := &State{Node: "n", WrittenAt: 10 * time.Second, Interval: Duration(time.Second)}
	if err := WriteState(dir, s); err != nil {
		t.Fatal(err)
	}
	got, err := ReadState(dir)
	if err != nil || got.Node != "n" {
		t.Fatal(got, err)
	}
	if !got.Fresh(11*time.Second) || got.Fresh(13*time.Second) || got.Age(12*time.Second) != 2*time.Second {
		t.Fatal("freshness")
	}
	os.WriteFile(StatePath(dir), []byte("{"), 0o644)
	if _, err := ReadState(dir); err == nil {
		t.Fatal("read garbage")
	}
	var d Duration
	if err := json.Unmarshal([]byte(`"2s"`), &d); err != nil || d.D() != 2*time.Second {
		t.Fatal(d, err)
	}
}

func TestFileWatchdog(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWatchdog("file:"+dir+"/wd-%n", "node7", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "wd-node7")
	data, err := os.ReadFile(path)
	if err != nil || string(data) != "timeout_ms=5000\n" {
		t.Fatalf("%q %v", data, err)
	}
	if w.Timeout() != 5*time.Second || !strings.Contains(w.String(), "wd-node7") {
		t.Fatal(w)
	}
	if err := w.Disarm(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("disarm left the file")
	}
	if err := w.Disarm(); err != nil {
		t.Fatal("second disarm:", err)
	}
	if _, err := OpenWatchdog("file:/nonexistent/dir/wd", "n", time.Second); err == nil {
		t.Fatal("fed into a missing directory")
	}
	n, err := OpenWatchdog("none", "n", time.Second)
	if err != nil || n.Timeout() != 0 || n.Feed() != nil || n.Disarm() != nil || n.String() != "none" {
		t.Fatal("none")
	}
	if _, err := OpenWatchdog("/dev/nonexistent-watchdog", "n", time.Second); err == nil {
		t.Fatal("opened a missing device")
	}
	if _, err := OpenWatchdog("bogus", "n", time.Second); err == nil {
		t.Fatal("bogus device")
	}
	if WatchdogAnnounced("none", time.Second) != 0 || WatchdogAnnounced("/dev/watchdog", time.Second) != time.Second {
		t.Fatal("announced")
	}
}

func TestExecSelfFence(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "fence.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"$1 $2 $KEY\" > "+dir+"/out\n"), 0o755)
	var log bytes.Buffer
	f, err := NewSelfFencer("exec:"+script, "node4", &log)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("KEY", "secret")
	if err := f(context.Background(), CmdOff); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "out"))
	if string(out) != "node4 off \n" {
		t.Fatalf("argv/env of the command: %q", out)
	}
	for _, bad := range []string{"exec:", "exec:rel", "exec:/a b", "shutdown"} {
		if _, err := NewSelfFencer(bad, "n", &log); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// sysrq modes are built but never called here: that would reset this machine.
	for _, m := range []string{SelfFenceMessage, SelfFenceReboot, SelfFenceOff} {
		if f, err := NewSelfFencer(m, "n", &log); err != nil || f == nil {
			t.Errorf("%s: %v", m, err)
		}
	}
}

// A regular file stands in for a watchdog device: the ioctls fail, the
// driver-independent paths (write keepalive, magic close) run.
func TestDeviceWatchdogFallbacks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "watchdog")
	os.WriteFile(path, nil, 0o600)
	w, err := openDeviceWatchdog(path, 2500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if w.Timeout() != 2500*time.Millisecond || w.String() != path {
		t.Fatal(w.Timeout(), w.String())
	}
	if err := w.Feed(); err != nil {
		t.Fatal(err)
	}
	if err := w.Disarm(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "\x00\x00V" {
		t.Fatalf("%q: keepalives then the magic close", data)
	}
	if err := w.Feed(); err == nil {
		t.Fatal("fed a closed watchdog")
	}
}

// testConfig is a valid configuration of node1 on that many backends (file:///mem0, ...),
// the URIs the tests give their in-memory stores.
func testConfig(t *testing.T, backends int) Config {
	cfg := Config{Node: "node1", Interval: Duration(100 * time.Millisecond), Timeout: Duration(400 * time.Millisecond),
		WatchdogDevice: "file:/nonexistent/%n", WatchdogTimeout: Duration(time.Second), SelfFence: SelfFenceMessage,
		StorageAttribute: "kvmha-storage", StateDir: t.TempDir()}
	for i := 0; i < backends; i++ {
		cfg.Backends = append(cfg.Backends, fmt.Sprintf("file:///mem%d", i))
	}
	return cfg
}
