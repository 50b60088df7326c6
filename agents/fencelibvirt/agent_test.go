package fencelibvirt

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/libvirt"
)

// run runs the agent with command-line arguments against h and returns the
// exit code, stdout, stderr and the URI it dialled.
func run(t *testing.T, h *fakeHypervisor, args ...string) (int, string, string, string) {
	t.Helper()
	code, out, errs, dialled, _ := runWith(t, h, args, "")
	return code, out, errs, dialled
}

// runWith runs the agent with command-line arguments, or stdin when args
// is nil, and returns the dial options too.
func runWith(t *testing.T, h *fakeHypervisor, args []string, stdin string) (int, string, string, string, libvirt.DialOptions) {
	t.Helper()
	var dialled string
	var opts libvirt.DialOptions
	a := newAgent(deps{dial: func(_ context.Context, uri string, o libvirt.DialOptions) (hypervisor, error) {
		dialled, opts = uri, o
		return h, nil
	}})
	var out, errb bytes.Buffer
	code := a.Main(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String(), dialled, opts
}

func TestActions(t *testing.T) {
	h := newFakeHypervisor()
	uri := "--uri=qemu:///system?socket=/tmp/x"
	if code, out, _, dialled := run(t, h, uri, "-o", "status", "-n", "guest1"); code != 0 || out != "Status: ON\n" || dialled != "qemu:///system?socket=/tmp/x" {
		t.Fatalf("status: %d %q %q", code, out, dialled)
	}
	if code, out, errs, _ := run(t, h, uri, "-o", "off", "-n", "guest1"); code != 0 || out != "Success: Powered OFF\n" {
		t.Fatalf("off: %d %q %s", code, out, errs)
	}
	if code, out, _, _ := run(t, h, uri, "-o", "status", "-n", "11111111-2222-3333-4444-555555555555"); code != 2 || out != "Status: OFF\n" {
		t.Fatalf("status by UUID after off: %d %q", code, out)
	}
	if code, out, _, _ := run(t, h, uri, "-o", "off", "-n", "guest1"); code != 0 || !strings.Contains(out, "Already OFF") {
		t.Fatalf("second off: %d %q", code, out)
	}
	if code, out, _, _ := run(t, h, uri, "-o", "on", "-n", "guest1"); code != 0 || out != "Success: Powered ON\n" {
		t.Fatalf("on: %d %q", code, out)
	}
	h.calls = nil
	if code, out, _, _ := run(t, h, uri, "-o", "reboot", "-n", "guest1"); code != 0 || out != "Success: Rebooted\n" ||
		strings.Join(h.calls, ",") != "destroy guest1,start guest1" {
		t.Fatalf("reboot: %d %q %v", code, out, h.calls)
	}
	if code, _, _, _ := run(t, h, uri, "-o", "status", "-n", "guest3"); code != 0 {
		t.Fatal("a paused guest still holds its disks: it must count as on")
	}
}

func TestListAndMonitor(t *testing.T) {
	h := newFakeHypervisor()
	code, out, _, _ := run(t, h, "--uri=qemu:///system", "-o", "list")
	want := "guest1,11111111-2222-3333-4444-555555555555\nguest2,66666666-7777-8888-9999-aaaaaaaaaaaa\nguest3,bbbbbbbb-cccc-dddd-eeee-ffffffffffff\n"
	if code != 0 || out != want {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, out, _, _ := run(t, h, "--uri=qemu:///system", "-o", "list-status"); code != 0 || !strings.Contains(out, "guest2,66666666-7777-8888-9999-aaaaaaaaaaaa,off\n") {
		t.Fatalf("list-status: %d %q", code, out)
	}
	if code, _, _, _ := run(t, h, "--uri=qemu:///system", "-o", "monitor"); code != 0 {
		t.Fatal("monitor")
	}
}

func TestMissingDomain(t *testing.T) {
	h := newFakeHypervisor()
	if code, _, errs, _ := run(t, h, "-o", "off", "-n", "nosuch", "--uri=qemu:///system"); code != 1 || !strings.Contains(errs, "not found") {
		t.Fatalf("off of a missing domain: %d %s", code, errs)
	}
	if code, out, _, _ := run(t, h, "-o", "off", "-n", "nosuch", "--uri=qemu:///system", "--missing-as-off"); code != 0 || !strings.Contains(out, "Already OFF") {
		t.Fatalf("missing_as_off: %d %q", code, out)
	}
}

func TestURIFromFenceVirshOptions(t *testing.T) {
	h := newFakeHypervisor()
	pki := t.TempDir()
	key := filepath.Join(pki, "clientkey.pem")
	os.WriteFile(key, []byte("-----BEGIN PRIVATE KEY-----\n"), 0o600)
	// The folder is complete: validate reads every file the TLS dial needs.
	os.WriteFile(filepath.Join(pki, "clientcert.pem"), []byte("-----BEGIN CERTIFICATE-----\n"), 0o644)
	os.WriteFile(filepath.Join(pki, "cacert.pem"), []byte("-----BEGIN CERTIFICATE-----\n"), 0o644)
	notAKey := filepath.Join(t.TempDir(), "id_ed25519")
	os.WriteFile(notAKey, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n"), 0o600)
	for _, c := range []struct {
		args []string
		uri  string
	}{
		{[]string{"-a", "kvm1.example"}, "qemu+tls://kvm1.example/system"},
		{[]string{"-a", "10.0.0.9", "-u", "16600", "-l", "root"}, "qemu+tls://10.0.0.9:16600/system"},
		{[]string{"-a", "fd00::9"}, "qemu+tls://[fd00::9]/system"},
		{[]string{"-a", "kvm1", "-k", key}, "qemu+tls://kvm1/system?pkipath=" + strings.ReplaceAll(pki, "/", "%2F")},
		{[]string{"-a", "kvm1", "-k", pki}, "qemu+tls://kvm1/system?pkipath=" + strings.ReplaceAll(pki, "/", "%2F")},
		{[]string{"-a", "ignored", "--uri=qemu+tcp://node2/system"}, "qemu+tcp://node2/system"},
	} {
		code, _, errs, dialled := run(t, h, append(c.args, "-o", "status", "-n", "guest1")...)
		if code != 0 || dialled != c.uri {
			t.Errorf("%v: dialled %q (exit %d %s), want %q", c.args, dialled, code, errs, c.uri)
		}
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-a", "kvm1", "-k", notAKey}, "is not a private key ssh can use"},
		{[]string{"-k", pki, "--uri=qemu+tcp://node2/system"}, "not a TLS URI"},
		{[]string{"--uri=qemu+ext://root@kvm1/system"}, "unsupported libvirt URI"},
		{[]string{"-a", "kvm1", "-u", "70000"}, "not a TCP port"},
		{[]string{"--ip=a/b"}, "not a host name"},
		{[]string{"-a", "kvm1", "-k", "/nonexistent"}, "identity_file"},
	} {
		code, _, errs, dialled := run(t, h, append(c.args, "-o", "status", "-n", "guest1")...)
		if code != 1 || !strings.Contains(errs, c.msg) || dialled != "" {
			t.Errorf("%v: exit %d, dialled %q, %s (want %q)", c.args, code, dialled, errs, c.msg)
		}
	}
}

// TestFenceVirshStdinKeys: a fence_virsh device's parameters as Pacemaker passes them.
func TestFenceVirshStdinKeys(t *testing.T) {
	h := newFakeHypervisor()
	stdin := "action=off\nport=guest1\nnodename=node1\nipaddr=kvm1\nlogin=root\nipport=16514\n"
	if code, _, errs, dialled, _ := runWith(t, h, nil, stdin); code != 0 || dialled != "qemu+tls://kvm1:16514/system" {
		t.Fatalf("exit %d, dialled %q: %s", code, dialled, errs)
	}
}

func TestPowerMapping(t *testing.T) {
	for s, on := range map[libvirt.State]bool{libvirt.StateRunning: true, libvirt.StatePaused: true, libvirt.StateCrashed: true,
		libvirt.StateShutdown: true, libvirt.StatePMSuspended: true, libvirt.StateNoState: true, libvirt.StateShutoff: false} {
		if got := power(s).String() == "on"; got != on {
			t.Errorf("%s: on=%v", s, got)
		}
	}
}
