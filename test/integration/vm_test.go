//go:build lab

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rbd"
)

// TestKernelVMMapsRBDImage: Debian's stock kernel in the lab VM maps an image of the lab's
// Ceph with the kernel rbd driver (sysfs add_single_major), does I/O and unmaps it.
func TestKernelVMMapsRBDImage(t *testing.T) {
	env := loadLabEnv(t)
	conn := connectCeph(t, env, false)
	ioctx, err := conn.OpenIOContext(env["CEPH_POOL"])
	if err != nil {
		t.Fatal(err)
	}
	defer ioctx.Destroy()
	image := uniqueName("krbd")
	// krbd in Debian 12's kernel lacks none of the default features, but keep the image to
	// layering + exclusive-lock so the smoke test does not depend on that.
	opts := rbd.NewRbdImageOptions()
	defer opts.Destroy()
	if err := opts.SetUint64(rbd.ImageOptionFeatures, rbd.FeatureLayering|rbd.FeatureExclusiveLock); err != nil {
		t.Fatal(err)
	}
	if err := rbd.CreateImage(ioctx, image, 32<<20, opts); err != nil {
		t.Fatal(err)
	}
	defer rbd.RemoveImage(ioctx, image)

	smoke, _ := filepath.Abs(filepath.Join(labDir(), "vm", "krbd-smoke.sh"))
	if _, err := os.Stat(smoke); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := labScript(t, 10*time.Minute, "vm.sh", "run", "--",
		"env", "CEPH_CONF="+env["CEPH_CONF"], "CEPH_KEYRING="+env["CEPH_KEYRING"],
		"CEPH_USER="+env["CEPH_USER"], "CEPH_POOL="+env["CEPH_POOL"], "RBD_IMAGE="+image,
		"sh", smoke)
	t.Logf("kernel VM run took %.1fs:\n%s", time.Since(start).Seconds(), out)
	if err != nil {
		t.Fatal(fmt.Errorf("krbd smoke in the kernel VM: %w", err))
	}
}
