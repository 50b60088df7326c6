//go:build lab

package integration

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rbd"
	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

// connectLibvirt speaks RPC to the lab's libvirtd on the socket named in LIBVIRT_URI.
func connectLibvirt(t *testing.T, uri string) *libvirt.Libvirt {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatalf("LIBVIRT_URI %q: %v", uri, err)
	}
	opts := []dialers.LocalOption{dialers.WithLocalTimeout(5 * time.Second)}
	if sock := u.Query().Get("socket"); sock != "" {
		opts = append(opts, dialers.WithSocket(sock))
	}
	l := libvirt.NewWithDialer(dialers.NewLocal(opts...))
	if err := l.Connect(); err != nil {
		t.Fatalf("connect %s: %v", uri, err)
	}
	t.Cleanup(func() { l.Disconnect() })
	return l
}

// cephKey reads the base64 key of the keyring's single entry.
func cephKey(t *testing.T, keyring string) []byte {
	t.Helper()
	f, err := os.Open(keyring)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && strings.TrimSpace(k) == "key" {
			key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("keyring %s: %v", keyring, err)
			}
			return key
		}
	}
	t.Fatalf("keyring %s has no key", keyring)
	return nil
}

func newUUID() (libvirt.UUID, string) {
	var u libvirt.UUID
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	s := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	return u, s
}

// TestGuestWithRBDDiskStartsAndShutsDown: the lab guest, with an RBD disk authenticated
// through a libvirt secret, starts under the lab's libvirtd, sees its disk, makes qemu a
// watcher of the image, and powers off on an ACPI shutdown request.
func TestGuestWithRBDDiskStartsAndShutsDown(t *testing.T) {
	env := loadLabEnv(t)
	l := connectLibvirt(t, env["LIBVIRT_URI"])

	conn := connectCeph(t, env, false)
	ioctx, err := conn.OpenIOContext(env["CEPH_POOL"])
	if err != nil {
		t.Fatal(err)
	}
	defer ioctx.Destroy()
	image := uniqueName("guest")
	if err := rbd.CreateImage(ioctx, image, 16<<20, rbd.NewRbdImageOptions()); err != nil {
		t.Fatal(err)
	}
	defer rbd.RemoveImage(ioctx, image)

	secretUUID, secretUUIDText := newUUID()
	secretXML := fmt.Sprintf(`<secret ephemeral='no' private='yes'><uuid>%s</uuid>`+
		`<usage type='ceph'><name>kvmha lab %s</name></usage></secret>`, secretUUIDText, image)
	secret, err := l.SecretDefineXML(secretXML, 0)
	if err != nil {
		t.Fatalf("define secret: %v", err)
	}
	defer l.SecretUndefine(secret)
	if err := l.SecretSetValue(secret, cephKey(t, env["CEPH_KEYRING"]), 0); err != nil {
		t.Fatalf("set secret: %v", err)
	}
	_ = secretUUID

	name := uniqueName("smoke")
	domXML, err := labScript(t, time.Minute, "guest.sh", "domain", name,
		"--rbd", env["CEPH_POOL"]+"/"+image, "--ceph-conf", env["CEPH_CONF"], "--secret-uuid", secretUUIDText)
	if err != nil {
		t.Fatalf("guest.sh domain: %v\n%s", err, domXML)
	}
	dom, err := l.DomainDefineXML(domXML)
	if err != nil {
		t.Fatalf("define domain: %v\n%s", err, domXML)
	}
	defer l.DomainUndefine(dom)
	started := time.Now()
	if err := l.DomainCreate(dom); err != nil {
		t.Fatalf("start domain: %v", err)
	}
	defer l.DomainDestroy(dom) // no-op once it is off

	console := filepath.Join(env["LAB_STATE"], "consoles", name+".log")
	consoleHas := func(s string) bool {
		b, _ := os.ReadFile(console)
		return strings.Contains(string(b), s)
	}
	waitFor(t, 60*time.Second, "READY on "+console, func() bool { return consoleHas("READY") })
	t.Logf("guest READY %.2fs after start", time.Since(started).Seconds())
	if !consoleHas("DISK: vda") {
		b, _ := os.ReadFile(console)
		t.Fatalf("guest did not see its RBD disk:\n%s", b)
	}

	img, err := rbd.OpenImageReadOnly(ioctx, image, rbd.NoSnapshot)
	if err != nil {
		t.Fatal(err)
	}
	watchers, err := img.ListWatchers()
	img.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(watchers) < 1 {
		t.Fatalf("qemu is not a watcher of %s: %+v", image, watchers)
	}

	shutdownAt := time.Now()
	if err := l.DomainShutdown(dom); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	took := waitFor(t, 30*time.Second, "guest to power off", func() bool {
		state, _, err := l.DomainGetState(dom, 0)
		return err == nil && libvirt.DomainState(state) == libvirt.DomainShutoff
	})
	t.Logf("ACPI shutdown to shut off: %.2fs (since request %.2fs)", took.Seconds(), time.Since(shutdownAt).Seconds())
}
