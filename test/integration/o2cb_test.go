//go:build lab

package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The ocf:kvmha:o2cb tests need only the lab's kernel VM (test/lab/vm.sh builds it on demand):
// the agent binary is built here and reached by the VMs through a shared folder, the node list
// is a corosync.conf written in the guests, and no Pacemaker runs (its cluster would be the
// host's, not the VMs'). Guest side: test/lab/vm/o2cb-pair.sh and o2cb-ocf-tester.sh.

// buildO2CBAgent builds cmd/o2cb into a world-readable folder under /tmp, which vm.sh mounts
// at the same path in the VMs (ocf-tester runs meta-data as nobody, so every folder on the way
// must be open to it).
func buildO2CBAgent(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kvmha-o2cb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "o2cb")
	cmd := exec.Command("go", "build", "-tags", "pacific", "-trimpath", "-o", bin, "./cmd/o2cb")
	cmd.Dir = filepath.Join(labDir(), "..", "..")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/o2cb: %v\n%s", err, out)
	}
	return bin
}

// runVM runs test/lab/vm.sh with extra environment and a deadline; it returns the combined
// output and the exit code (-1 when it could not run).
func runVM(t *testing.T, timeout time.Duration, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(labDir(), "vm.sh"), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return string(out), code
}

var (
	timingLine = regexp.MustCompile(`(?m)^\[(node\d)\] o2cb-pair: [0-9.]+s TIMING ([\w-]+) ([0-9.]+)s`)
	vmSummary  = regexp.MustCompile(`(?m)\] (node\d): exit (\d+), wall`)
)

// vmExits maps each VM of a pair to the exit code vm.sh reported for it.
func vmExits(out string) map[string]string {
	exits := map[string]string{}
	for _, m := range vmSummary.FindAllStringSubmatch(out, -1) {
		exits[m[1]] = m[2]
	}
	return exits
}

// timings collects "TIMING what Ns" lines as "node1 start 1.28s".
func timings(out string) []string {
	var lines []string
	for _, m := range timingLine.FindAllStringSubmatch(out, -1) {
		lines = append(lines, m[1]+" "+m[2]+" "+m[3]+"s")
	}
	return lines
}

func passed(out, node string) bool {
	return regexp.MustCompile(`(?m)^\[` + node + `\] o2cb-pair: [0-9.]+s PASS$`).MatchString(out)
}

// TestO2CBAgentOnTwoVMs: the agent brings O2CB up on two VMs sharing a disk from a corosync
// nodelist (and writes cluster.conf, which ocf-tools read), mkfs.ocfs2 and a mount on both
// work and each sees the other's writes, stop is refused while mounted, a node added to the
// cluster while mounted is reported and then registered by monitor, stop succeeds after the
// unmount and twice.
func TestO2CBAgentOnTwoVMs(t *testing.T) {
	agent := buildO2CBAgent(t)
	start := time.Now()
	out, code := runVM(t, 15*time.Minute, nil, "pair", "--mount", filepath.Dir(agent), "--",
		"env", "O2CB_AGENT="+agent, "O2CB_SCENARIO=basic", "sh", "test/lab/vm/o2cb-pair.sh")
	t.Logf("pair run took %.1fs:\n%s", time.Since(start).Seconds(), out)
	if code != 0 || !passed(out, "node1") || !passed(out, "node2") {
		t.Fatalf("o2cb pair scenario failed (exit %d)", code)
	}
	t.Logf("timings (TCG guests): %s", strings.Join(timings(out), ", "))
}

// TestO2CBSurvivorOfKilledPeer: both VMs have the volume mounted, one dies at once; the
// survivor's file operations block until O2CB declares the peer dead, recover its journal, and
// go on; the survivor then unmounts and stops O2CB alone. The figures (how long it blocked,
// what its kernel logged) are in the test log: once with the default timeouts, once with
// heartbeat_dead_threshold=7 and idle_timeout_ms=10000 and the lower-numbered node dying.
func TestO2CBSurvivorOfKilledPeer(t *testing.T) {
	agent := buildO2CBAgent(t)
	for _, tc := range []struct {
		name, victim, params string
	}{
		{"defaults-node2-dies", "node2", ""},
		{"short-timeouts-node1-dies", "node1", "heartbeat_dead_threshold=7 idle_timeout_ms=10000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			out, code := runVM(t, 15*time.Minute, nil, "pair", "--mount", filepath.Dir(agent), "--",
				"env", "O2CB_AGENT="+agent, "O2CB_SCENARIO=kill", "O2CB_VICTIM="+tc.victim,
				"O2CB_PARAMS="+tc.params, "sh", "test/lab/vm/o2cb-pair.sh")
			t.Logf("pair run took %.1fs:\n%s", time.Since(start).Seconds(), out)
			survivor := map[string]string{"node1": "node2", "node2": "node1"}[tc.victim]
			exits := vmExits(out)
			// the victim gives no exit code (vm.sh says 125), so the pair's code is 125
			if exits[survivor] != "0" || exits[tc.victim] != "125" || code != 125 || !passed(out, survivor) {
				t.Fatalf("kill scenario failed: exit %d, VMs %v", code, exits)
			}
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "KILLTIMING") || strings.Contains(line, "dmesg:") {
					t.Log(line)
				}
			}
		})
	}
}

// TestO2CBOcfTester: resource-agents' ocf-tester passes against the agent inside a VM (stock
// kernel, one-node cluster.conf); the VM image carries xmllint for its meta-data check.
func TestO2CBOcfTester(t *testing.T) {
	agent := buildO2CBAgent(t)
	start := time.Now()
	out, code := runVM(t, 15*time.Minute, nil,
		"run", "--mount", filepath.Dir(agent), "--", "sh", "test/lab/vm/o2cb-ocf-tester.sh", agent)
	t.Logf("ocf-tester run took %.1fs:\n%s", time.Since(start).Seconds(), out)
	if code != 0 || !strings.Contains(out, "o2cb-ocf-tester: PASS") {
		t.Fatalf("ocf-tester in the VM failed (exit %d)", code)
	}
}
