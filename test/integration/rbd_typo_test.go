//go:build lab

package integration

import (
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rbd"
)

// TestRBDStopWithTypoInKernelVM is issue 12's proof for ocf:kvmha:rbd with the real kernel
// drivers: an image the agent mapped (krbd, then rbd-nbd) is unmapped by a stop whose
// parameters became unusable after start (name=a/b, user='a b'), from the record start kept;
// and a device number the kernel has since given to another image is left mapped. It runs
// rbd-agent.sh's typo-stop case alone (TestRBDAgentInKernelVM runs it with the others).
func TestRBDStopWithTypoInKernelVM(t *testing.T) {
	env := rbdLabEnv(t)
	dir := buildRBDAgent(t, env)
	conn := connectCeph(t, env, true)
	ioctx, err := conn.OpenIOContext(env["CEPH_POOL"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ioctx.Destroy)
	plain := createImage(t, ioctx, "rbd-typo", rbd.FeatureLayering|rbd.FeatureExclusiveLock)

	script, _ := filepath.Abs(filepath.Join(labDir(), "vm", "rbd-agent.sh"))
	t.Setenv("LAB_VM_TIMEOUT", "300")
	start := time.Now()
	out, err := labScript(t, 10*time.Minute, "vm.sh", "run", "--name", "rbd-typo", "--",
		"env", "RBD_AGENT="+filepath.Join(dir, "rbd"), "CASES=typo-stop",
		"CEPH_CONF="+env["CEPH_CONF"], "CEPH_KEYRING="+env["CEPH_KEYRING"], "CEPH_USER="+env["CEPH_USER"],
		"CEPH_POOL="+env["CEPH_POOL"], "CEPH_ADMIN_KEYRING="+env["CEPH_ADMIN_KEYRING"],
		"IMG_PLAIN="+plain, "sh", script)
	t.Logf("kernel VM run took %.1fs:\n%s", time.Since(start).Seconds(), out)
	if !regexp.MustCompile(`(?m)^ok typo-stop$`).MatchString(out) {
		t.Errorf("case typo-stop did not pass (see the VM's output above)")
	}
	if err != nil {
		t.Fatalf("rbd-agent.sh in the kernel VM: %v", err)
	}
}
