//go:build lab

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Helpers for building, installing and running the repository's agents in the lab, and for
// driving the lab's one-node cluster: shared by every agent's lab tests.

var buildOnce sync.Map // package path → binary path or error

// buildAgent builds a cmd/ package of the repository once per test run.
func buildAgent(t *testing.T, pkg string) string {
	t.Helper()
	if v, ok := buildOnce.Load(pkg); ok {
		return v.(string)
	}
	dir, err := os.MkdirTemp("", "kvmha-lab-bin")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-tags", "pacific", "-o", out, "./"+pkg)
	cmd.Dir = filepath.Join(labDir(), "..", "..")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	buildOnce.Store(pkg, out)
	return out
}

// runFenceAgent runs a fence agent the way pacemaker-fenced does: options on stdin.
func runFenceAgent(t *testing.T, bin string, opts map[string]string) (int, string, time.Duration) {
	t.Helper()
	return runFenceCommand(t, []string{bin}, opts)
}

// runFenceCommand is runFenceAgent for a command line that runs the agent (ip netns exec …).
func runFenceCommand(t *testing.T, argv []string, opts map[string]string) (int, string, time.Duration) {
	t.Helper()
	var in strings.Builder
	for k, v := range opts {
		fmt.Fprintf(&in, "%s=%s\n", k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(in.String())
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", argv[0], err)
	}
	return code, string(out), took
}

// installFenceAgent puts a fence agent where pacemaker-fenced looks for agents.
func installFenceAgent(t *testing.T, bin, name string) {
	t.Helper()
	if out, err := exec.Command("install", "-m", "0755", bin, "/usr/sbin/"+name).CombinedOutput(); err != nil {
		t.Fatalf("install %s: %v\n%s", name, err, out)
	}
}

// oneNodeStatus is crm_mon's view of the lab's one-node cluster.
func oneNodeStatus() *clusterStatus {
	out, err := exec.Command("crm_mon", "-1", "--output-as=xml").Output()
	if err != nil {
		return &clusterStatus{}
	}
	st, _ := parseStatus(out)
	return st
}

// createStonith configures a fence device in the one-node cluster and waits until it runs.
func createStonith(t *testing.T, id, agent string, params ...string) {
	t.Helper()
	args := append([]string{"stonith", "create", id, agent}, params...)
	if out, err := exec.Command("pcs", args...).CombinedOutput(); err != nil {
		t.Fatalf("pcs %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("pcs", "stonith", "delete", id).CombinedOutput(); err != nil {
			t.Errorf("pcs stonith delete %s: %v\n%s", id, err, out)
		}
	})
	waitFor(t, 60*time.Second, id+" started", func() bool { return oneNodeStatus().runningOn(id) == "node1" })
}

// stonithAdmin runs stonith_admin and returns its exit code, output and duration.
func stonithAdmin(t *testing.T, args ...string) (int, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, "stonith_admin", args...).CombinedOutput()
	took := time.Since(start)
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out), took
	} else if err != nil {
		t.Fatalf("stonith_admin: %v", err)
	}
	return 0, string(out), took
}
