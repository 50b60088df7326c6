//go:build lab

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The kernel VM pair with a real Pacemaker inside: test/lab/vm/ocfs2-pcmk-pair.sh says what runs
// there and how it is timed. The VMs need pacemaker, corosync and their command-line tools, which
// the other VM tests do not: they come as extra packages, so this test has an image (cache key)
// of its own and the others keep theirs.
const pcmkVMPackages = "pacemaker corosync pacemaker-cli-utils psmisc fdisk"

// buildPcmkVMAgents builds the four programs the VMs install (as make build builds them) into a
// world-readable folder under /tmp, which vm.sh mounts at the same path in the VMs.
func buildPcmkVMAgents(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kvmha-o2pm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-tags", "pacific,netgo,osusergo", "-trimpath", "-o", dir+"/",
		"./cmd/o2cb", "./cmd/HostHeartbeat", "./cmd/fence_kvmha", "./cmd/kvmha")
	cmd.Dir = filepath.Join(labDir(), "..", "..")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// requireSlowVMTests skips a test that boots Pacemaker inside kernel VMs unless
// KVMHA_LAB_SLOW=1: each builds an image of its own and runs for many minutes under TCG,
// and they have not yet been through a whole clean-clone make test within CI's 90 minutes.
// make lab-test KVMHA_LAB_SLOW=1 runs them.
func requireSlowVMTests(t *testing.T) {
	t.Helper()
	if os.Getenv("KVMHA_LAB_SLOW") != "1" {
		t.Skip("a slow kernel-VM test: set KVMHA_LAB_SLOW=1 to run it")
	}
}

var pcmkTiming = regexp.MustCompile(`(?m)^\[(node\d)\] ocfs2-pcmk: [0-9.]+s TIMING ([\w-]+) ([0-9.]+)s$`)

// TestO2CBPairUnderPacemaker: two VMs sharing a disk run corosync and Pacemaker with
// ocf:kvmha:HostHeartbeat (block backend on a partition of the disk, softdog), ocf:kvmha:o2cb and
// ocf:heartbeat:Filesystem (OCFS2 on another partition) as clones and fence_kvmha as the fence
// device. node2 dies at once (sysrq b); node1 fences it through the disk, keeps its mount and
// files and writes on; node2 boots again, rejoins and mounts. The script's TIMING lines are
// logged: kill -> fence confirmed, kill -> a write succeeds again, boot -> clones Started.
func TestO2CBPairUnderPacemaker(t *testing.T) {
	requireSlowVMTests(t)
	// no_timer_check: the kernel's IO-APIC timer check panics a guest that is starved of CPU
	// while it boots ("IO-APIC + timer doesn't work"), as two guests at nice 19 on a busy host
	// can be.
	env := []string{"LAB_VM_EXTRA_PACKAGES=" + pcmkVMPackages, "LAB_VM_TIMEOUT=1800",
		"LAB_VM_APPEND=no_timer_check " + os.Getenv("LAB_VM_APPEND")}
	// The one reason to skip: no VM can be built or booted here at all.
	if out, code := runVM(t, 20*time.Minute, env, "build"); code != 0 {
		t.Skipf("the kernel VM cannot be built here (vm.sh build exit %d):\n%s", code, tail(out, 15))
	}
	if out, code := runVM(t, 5*time.Minute, env, "run", "--", "true"); code != 0 {
		t.Skipf("the kernel VM does not boot here (vm.sh run exit %d):\n%s", code, tail(out, 30))
	}
	bin := buildPcmkVMAgents(t)
	start := time.Now()
	// A named run: vm.sh keeps its folder, with the VMs' Pacemaker, corosync and heartbeat logs
	// in io/xchg/logs, whatever the outcome (the next run of this test clears it).
	out, code := runVM(t, 55*time.Minute, env, "pair", "--name", "o2cb-pcmk", "--mem", "1024", "--mount", bin, "--",
		"env", "KVMHA_BIN="+bin, "VICTIM=node2", "sh", "test/lab/vm/ocfs2-pcmk-pair.sh")
	t.Logf("pair run took %.1fs:\n%s", time.Since(start).Seconds(), out)
	pass := func(node string) bool {
		return regexp.MustCompile(`(?m)^\[` + node + `\] ocfs2-pcmk: [0-9.]+s PASS$`).MatchString(out)
	}
	// node2's first boot ends without an exit code (it dies); its second boot's is the one
	// vm.sh reports last, and the pair's.
	exits := vmExits(out)
	if code != 0 || exits["node1"] != "0" || exits["node2"] != "0" || !pass("node1") || !pass("node2") ||
		!strings.Contains(out, "node2: booting it again (boot 2)") {
		t.Fatalf("the Pacemaker pair scenario failed: exit %d, VMs %v", code, exits)
	}
	got := map[string]string{}
	var lines []string
	for _, m := range pcmkTiming.FindAllStringSubmatch(out, -1) {
		got[m[2]] = m[3]
		lines = append(lines, m[1]+" "+m[2]+" "+m[3]+"s")
	}
	t.Logf("timings (TCG guests): %s", strings.Join(lines, ", "))
	for _, k := range []string{"fence", "write-ok", "evicted", "rejoin-online", "rejoin-started"} {
		if got[k] == "" {
			t.Errorf("no TIMING %s line", k)
		}
	}
	t.Logf("kill -> fence confirmed %ss, kill -> write succeeds again %ss, rejoin (cluster start -> clones Started) %ss",
		got["fence"], got["write-ok"], got["rejoin-started"])
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
