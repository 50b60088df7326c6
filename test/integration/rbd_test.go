//go:build lab

package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"
)

// TestRBDAgentInKernelVM runs ocf:kvmha:rbd in the lab's kernel VM (Debian 12's kernel, the
// lab's Ceph on the host) through test/lab/vm/rbd-agent.sh: map and unmap with krbd and with
// rbd-nbd, driver=auto picking rbd-nbd for an image with journaling (which the kernel lacks)
// and krbd once it is disabled, an image held by a client on the host refused, stop refusing
// a mounted device, a read-only snapshot map, monitors given as one DNS name with a dead
// address first, a stop with a typo unmapping what start mapped (typo-stop), and ocf-tester.
// Each case is a subtest.
func TestRBDAgentInKernelVM(t *testing.T) {
	env := rbdLabEnv(t)
	dir := buildRBDAgent(t, env)

	conn := connectCeph(t, env, true)
	ioctx, err := conn.OpenIOContext(env["CEPH_POOL"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ioctx.Destroy) // after the images' cleanups, which use it
	plain := createImage(t, ioctx, "rbd-plain", rbd.FeatureLayering|rbd.FeatureExclusiveLock|
		rbd.FeatureObjectMap|rbd.FeatureFastDiff|rbd.FeatureDeepFlatten)
	journal := createImage(t, ioctx, "rbd-journal", rbd.FeatureLayering|rbd.FeatureExclusiveLock|rbd.FeatureJournaling)
	held := createImage(t, ioctx, "rbd-held", rbd.FeatureLayering|rbd.FeatureExclusiveLock)

	// A client on the host holds rbd-held: it has it open and owns its exclusive lock.
	holder, err := rbd.OpenImage(ioctx, held, rbd.NoSnapshot)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if err := holder.LockAcquire(rbd.LockModeExclusive); err != nil {
		t.Fatal(err)
	}

	script, _ := filepath.Abs(filepath.Join(labDir(), "vm", "rbd-agent.sh"))
	// A normal run takes 2-4 minutes (under TCG, more on a busy host: 230 s seen with
	// typo-stop); a VM that cannot reach Ceph would otherwise hang for vm.sh's default 600 s.
	t.Setenv("LAB_VM_TIMEOUT", "450")
	start := time.Now()
	out, err := labScript(t, 15*time.Minute, "vm.sh", "run", "--",
		"env", "RBD_AGENT="+filepath.Join(dir, "rbd"),
		"CEPH_CONF="+env["CEPH_CONF"], "CEPH_KEYRING="+env["CEPH_KEYRING"], "CEPH_USER="+env["CEPH_USER"],
		"CEPH_POOL="+env["CEPH_POOL"], "CEPH_ADMIN_KEYRING="+env["CEPH_ADMIN_KEYRING"],
		"IMG_PLAIN="+plain, "IMG_JOURNAL="+journal, "IMG_HELD="+held, "sh", script)
	t.Logf("kernel VM run took %.1fs:\n%s", time.Since(start).Seconds(), out)
	for _, c := range []string{"krbd", "nbd", "auto-nbd", "auto-krbd", "held", "in-use", "snapshot", "mon-dns", "typo-stop", "ocf-tester"} {
		t.Run(c, func(t *testing.T) {
			if !regexp.MustCompile(`(?m)^ok ` + regexp.QuoteMeta(c) + `$`).MatchString(out) {
				t.Errorf("case %s did not pass (see the VM's output above)", c)
			}
		})
	}
	if err != nil {
		t.Fatalf("rbd-agent.sh in the kernel VM: %v", err)
	}
}

// rbdLabEnv is the lab's Ceph: $LAB_STATE/env when lab-up wrote it, else what `ceph.sh env`
// prints (a lab with Ceph alone). It sets LAB_VM_CEPH_PORTS from the monitor's port when unset.
func rbdLabEnv(t *testing.T) labEnv {
	t.Helper()
	env := labEnv{}
	state := os.Getenv("LAB_STATE")
	if state == "" {
		state = filepath.Join(labDir(), ".state")
	}
	if f, err := os.Open(filepath.Join(state, "env")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && !strings.HasPrefix(k, "#") {
				env[k] = strings.Trim(v, "'")
			}
		}
		f.Close()
	}
	if env["CEPH_CONF"] == "" {
		out, err := labScript(t, time.Minute, "ceph.sh", "env")
		if err != nil {
			t.Fatalf("lab Ceph is not up (run make lab-up or test/lab/ceph.sh up): %v\n%s", err, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
				env[k] = v
			}
		}
	}
	for _, k := range []string{"CEPH_CONF", "CEPH_KEYRING", "CEPH_USER", "CEPH_POOL", "CEPH_ADMIN_KEYRING"} {
		if env[k] == "" {
			t.Fatalf("lab env has no %s", k)
		}
	}
	if os.Getenv("LAB_VM_CEPH_PORTS") == "" {
		// mon_host looks like [v2:127.0.0.1:13300,v1:127.0.0.1:13301]: the port follows the
		// address, not the "v2:" prefix.
		if m := regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:(\d+)`).FindStringSubmatch(env["CEPH_MON_HOST"]); m != nil {
			port, _ := strconv.Atoi(m[1])
			base := port / 100 * 100
			t.Setenv("LAB_VM_CEPH_PORTS", fmt.Sprintf("%d-%d", base, base+99))
		}
	}
	return env
}

// buildRBDAgent builds the agent as make build does (one file, its Ceph-linked twin embedded)
// into a folder the VM shares ($LAB_STATE is mounted at the same path inside).
func buildRBDAgent(t *testing.T, env labEnv) string {
	t.Helper()
	dir, err := os.MkdirTemp(filepath.Dir(env["CEPH_CONF"]), "rbd-agent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "-s", "twin-rbd", "BUILD="+dir)
	cmd.Dir = filepath.Join(labDir(), "..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make twin-rbd: %v\n%s", err, out)
	}
	return dir
}

// createImage makes a 64 MiB image with the given features, removed (snapshots and all)
// when the test ends.
func createImage(t *testing.T, ioctx *rados.IOContext, prefix string, features uint64) string {
	t.Helper()
	name := uniqueName(prefix)
	opts := rbd.NewRbdImageOptions()
	defer opts.Destroy()
	if err := opts.SetUint64(rbd.ImageOptionFeatures, features); err != nil {
		t.Fatal(err)
	}
	if err := rbd.CreateImage(ioctx, name, 64<<20, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if img, err := rbd.OpenImage(ioctx, name, rbd.NoSnapshot); err == nil {
			if snaps, err := img.GetSnapshotNames(); err == nil {
				for _, s := range snaps {
					_ = img.GetSnapshot(s.Name).Remove()
				}
			}
			img.Close()
		}
		if err := rbd.RemoveImage(ioctx, name); err != nil {
			t.Logf("removing image %s: %v", name, err)
		} else {
			t.Logf("removed image %s", name)
		}
	})
	return name
}
