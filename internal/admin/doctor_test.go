package admin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/doctor"
)

func TestDoctorUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--output", "yaml"},
		{"--check", "kernal"},
		{"--skip", "nope"},
		{"--check", "clock", "--skip", "clock"},
		{"--pools", "a/b/c"},
		{"--mon-host", "10.0.0.1:99999"},
		{"--libvirt-uri", "qemu+ext://h/system"},
		{"--timeout", "0s"},
		{"extra-argument"},
	} {
		code, out, errs := run(append([]string{"doctor"}, args...)...)
		if code != 2 || out != "" || strings.Count(strings.TrimSpace(errs), "\n") != 0 || errs == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line", args, code, out, errs)
		}
	}
}

func TestDoctorJSONAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	// Nothing configured here: node-name skips, nothing fails.
	code, out, errs := run("doctor", "--check", "node-name", "--heartbeat-state-dir", dir, "--output", "json")
	var rs []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rs) != nil || len(rs) != 1 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	for _, k := range []string{"check", "family", "status", "detail", "fix", "seconds"} {
		if _, ok := rs[0][k]; !ok {
			t.Errorf("JSON lacks %q: %v", k, rs[0])
		}
	}
	if rs[0]["check"] != "node-name" || rs[0]["status"] != "skip" {
		t.Errorf("%v", rs[0])
	}
	// A monitor address nothing listens on: ceph-mon fails, with its fix.
	code, out, _ = run("doctor", "--check", "ceph-mon", "--mon-host", "127.0.0.1:1")
	if code != 1 || !strings.Contains(out, "FAIL  ceph-mon") || !strings.Contains(out, "fix: start the monitors") ||
		!strings.Contains(out, "1 check in") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestDoctorHelpListsEveryCheck(t *testing.T) {
	_, out, _ := run("doctor", "--help")
	for _, c := range doctor.New().Checks() {
		if !strings.Contains(out, c.Info().Name) {
			t.Errorf("help lacks %s", c.Info().Name)
		}
	}
	for _, s := range []string{"--pools", "--heartbeat-state-dir", "Exit status"} {
		if !strings.Contains(out, s) {
			t.Errorf("help lacks %s", s)
		}
	}
}
