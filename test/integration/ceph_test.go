//go:build lab

package integration

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"
)

// connectCeph opens a librados session as the lab's cephx user (or admin when admin is set),
// exactly as an agent given ceph_conf/ceph_user/ceph_keyring would.
func connectCeph(t *testing.T, env labEnv, admin bool) *rados.Conn {
	t.Helper()
	user, keyring := env["CEPH_USER"], env["CEPH_KEYRING"]
	if admin {
		user, keyring = "admin", env["CEPH_ADMIN_KEYRING"]
	}
	conn, err := rados.NewConnWithUser(user)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.ReadConfigFile(env["CEPH_CONF"]); err != nil {
		t.Fatalf("read %s: %v", env["CEPH_CONF"], err)
	}
	for k, v := range map[string]string{"keyring": keyring, "client_mount_timeout": "15", "rados_osd_op_timeout": "30"} {
		if err := conn.SetConfigOption(k, v); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
	}
	if err := conn.Connect(); err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(conn.Shutdown)
	return conn
}

func TestCephHealthy(t *testing.T) {
	env := loadLabEnv(t)
	conn := connectCeph(t, env, true)
	out, _, err := conn.MonCommand([]byte(`{"prefix":"health","format":"json"}`))
	if err != nil {
		t.Fatal(err)
	}
	var health struct{ Status string }
	if err := json.Unmarshal(out, &health); err != nil {
		t.Fatalf("health: %v: %s", err, out)
	}
	if health.Status != "HEALTH_OK" {
		t.Fatalf("ceph health is %s: %s", health.Status, out)
	}
}

// TestCephUserCanUseImages proves the contract's cephx user: create, open, write, read,
// see its own watcher, and remove an image in CEPH_POOL.
func TestCephUserCanUseImages(t *testing.T) {
	env := loadLabEnv(t)
	conn := connectCeph(t, env, false)
	ioctx, err := conn.OpenIOContext(env["CEPH_POOL"])
	if err != nil {
		t.Fatal(err)
	}
	defer ioctx.Destroy()
	name := uniqueName("smoke")
	if err := rbd.CreateImage(ioctx, name, 64<<20, rbd.NewRbdImageOptions()); err != nil {
		t.Fatalf("create image: %v", err)
	}
	defer func() {
		if err := rbd.RemoveImage(ioctx, name); err != nil {
			t.Errorf("remove image: %v", err)
		}
	}()
	img, err := rbd.OpenImage(ioctx, name, rbd.NoSnapshot)
	if err != nil {
		t.Fatalf("open image: %v", err)
	}
	payload := bytes.Repeat([]byte("kvmha"), 819) // 4095 bytes
	if _, err := img.WriteAt(payload, 4096); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, len(payload))
	if _, err := img.ReadAt(got, 4096); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("read back: %v (equal=%v)", err, bytes.Equal(got, payload))
	}
	watchers, err := img.ListWatchers()
	if err != nil {
		t.Fatal(err)
	}
	if len(watchers) != 1 {
		t.Fatalf("want our own watcher only, got %+v", watchers)
	}
	if err := img.Close(); err != nil {
		t.Fatal(err)
	}
}
