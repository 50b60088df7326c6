//go:build lab

package integration

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// labEnv is the lab's contract: the KEY=value lines lab-up writes to test/lab/.state/env.
type labEnv map[string]string

func labDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "lab")
}

// loadLabEnv reads the env file and fails the test when the lab is not up: these tests
// exist to prove the lab, so a missing lab is a failure, not a skip.
func loadLabEnv(t *testing.T) labEnv {
	t.Helper()
	return labEnvWith(t, "CEPH_CONF", "CEPH_KEYRING", "CEPH_USER", "CEPH_POOL",
		"LIBVIRT_URI", "LAB_GUEST_KERNEL", "LAB_GUEST_INITRD")
}

// labEnvWith reads the env file and requires only the given keys, for tests that need
// part of the lab.
func labEnvWith(t *testing.T, required ...string) labEnv {
	t.Helper()
	state := os.Getenv("LAB_STATE")
	if state == "" {
		state = filepath.Join(labDir(), ".state")
	}
	f, err := os.Open(filepath.Join(state, "env"))
	if err != nil {
		t.Fatalf("lab is not up (run make lab-up): %v", err)
	}
	defer f.Close()
	env := labEnv{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
		key, value, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		if len(value) >= 2 && value[0] == '\'' && value[len(value)-1] == '\'' {
			value = strings.ReplaceAll(value[1:len(value)-1], `'\''`, `'`)
		}
		env[key] = value
	}
	for _, key := range required {
		if env[key] == "" {
			t.Fatalf("lab env has no %s", key)
		}
	}
	return env
}

// labScript runs one of the lab's scripts with a deadline and returns its combined output.
func labScript(t *testing.T, timeout time.Duration, script string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(labDir(), script), args...)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// waitFor polls cond until it holds or the timeout passes; it reports how long it took.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

func uniqueName(prefix string) string {
	return prefix + "-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
}
