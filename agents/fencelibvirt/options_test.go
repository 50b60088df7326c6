package fencelibvirt

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/files/filestest"
)

// TestOptionsFailClearlyAndAtOnce: every bad option fails with exit 1 and
// one short line naming it, without dialling, and files are never read
// without bound: a FIFO, a device or a directory fails at once.
func TestOptionsFailClearlyAndAtOnce(t *testing.T) {
	hostile := filestest.NewHostile(t)
	dir, fifo := hostile.Dir, hostile.FIFO
	fifoKey := filestest.FIFO(t, filepath.Join(t.TempDir(), "clientkey.pem"))
	incomplete := t.TempDir() // a PKI folder without its certificates
	filestest.WriteFile(t, filepath.Join(incomplete, "clientkey.pem"), "-----BEGIN PRIVATE KEY-----\n")
	long := strings.Repeat("x", 100<<10)
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-a", "kvm1", "-k", fifo}, "identity_file: \"" + fifo + "\": not a regular file (a FIFO)"},
		{[]string{"-a", "kvm1", "-k", fifoKey}, "identity_file: \"" + fifoKey + "\": not a regular file (a FIFO)"},
		{[]string{"-a", "kvm1", "-k", "/dev/zero"}, "identity_file: \"/dev/zero\": not a regular file (a character device)"},
		{[]string{"-a", "kvm1", "-k", incomplete}, "identity_file: pkipath \"" + incomplete + "\": clientcert.pem: no such file"},
		{[]string{"-a", "kvm1", "-k", "/nonexistent/" + long}, "identity_file: \"/nonexistent/xxx"},
		{[]string{"--uri=qemu+tls://kvm1/system?pkipath=" + dir}, "uri: pkipath \"" + dir + "\": clientcert.pem: no such file"},
		{[]string{"--uri=qemu+tls://kvm1/system?pkipath=/dev/zero"}, "clientcert.pem: not a directory"},
		{[]string{"--uri=" + long}, "uri: unsupported libvirt URI"},
		{[]string{"--uri=qemu+bogus://h/\xff"}, "uri: unsupported libvirt URI"},
		{[]string{"-a", long}, "ip \"xxx"},
		{[]string{"-a", "kvm1%eth0"}, "ip \"kvm1%eth0\" is not a host name"},
		{[]string{"-a", "fe80::1%eth0"}, "is not a host name"},
		{[]string{"-a", "kvm1", "-u", "9999999999"}, "ipport \"9999999999\" is not a TCP port"},
		{[]string{"-a", "kvm1", "-u", "0"}, "ipport \"0\" is not a TCP port"},
	} {
		for _, action := range []string{"validate-all", "status", "list", "monitor"} {
			start := time.Now()
			code, _, errs, dialled := run(t, newFakeHypervisor(), append(c.args, "-o", action, "-n", "guest1")...)
			if code != 1 || !strings.Contains(errs, c.msg) || dialled != "" || len(errs) > 1000 || strings.Contains(errs, long) {
				t.Errorf("%.80q %s: exit %d, dialled %.80q, want 1 saying %q:\n%.1000s", c.args, action, code, dialled, c.msg, errs)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("%.80q %s took %s", c.args, action, took)
			}
		}
	}
}

// TestLongPlugIsClipped: a domain name of any length is quoted short.
func TestLongPlugIsClipped(t *testing.T) {
	long := strings.Repeat("d", 100<<10)
	code, _, errs, _ := run(t, newFakeHypervisor(), "--uri=qemu:///system", "-o", "off", "-n", long, "--missing-as-off", "-v")
	if code != 0 || len(errs) > 8<<10 {
		t.Fatalf("off of a missing long-named domain with missing_as_off: %d, %d bytes of log", code, len(errs))
	}
}
