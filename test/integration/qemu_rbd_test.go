//go:build lab

package integration

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rbd"
)

// TestQemuOpensRBDImage: qemu's own rbd driver creates, writes and reads an image as the
// lab's cephx user, with the key read from the keyring file (never on the command line).
func TestQemuOpensRBDImage(t *testing.T) {
	env := loadLabEnv(t)
	name := uniqueName("qemu")
	target := fmt.Sprintf("rbd:%s/%s:id=%s:conf=%s:keyring=%s", env["CEPH_POOL"], name,
		env["CEPH_USER"], env["CEPH_CONF"], env["CEPH_KEYRING"])
	run := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args[:2], " "), err, out)
		}
		return string(out)
	}
	run("qemu-img", "create", "-f", "raw", target, "32M")
	defer func() {
		conn := connectCeph(t, env, false)
		ioctx, err := conn.OpenIOContext(env["CEPH_POOL"])
		if err == nil {
			err = rbd.RemoveImage(ioctx, name)
			ioctx.Destroy()
		}
		if err != nil {
			t.Errorf("remove %s: %v", name, err)
		}
	}()
	if out := run("qemu-img", "info", target); !strings.Contains(out, "virtual size: 32 MiB") {
		t.Fatalf("qemu-img info: %s", out)
	}
	run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 1M", target)
	if out := run("qemu-io", "-f", "raw", "-c", "read -P 0x5a 0 1M", target); !strings.Contains(out, "read 1048576/1048576") {
		t.Fatalf("qemu-io read back: %s", out)
	}
}
