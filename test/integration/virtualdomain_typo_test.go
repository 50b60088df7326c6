//go:build lab

package integration

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/libvirt"
)

// TestVirtualDomainStopWithTypo: a guest the agent started is stopped by a stop whose
// parameters hold a typo made after the start (issue 12): the agent's record in HA_RSCTMP
// names the domain and the libvirtd it runs on, so stop stops exactly that guest, gracefully,
// and removes the record. Then the same with a config file that cannot be read (a FIFO, as a
// hung mount would block) and a hypervisor that is no URI at all.
func TestVirtualDomainStopWithTypo(t *testing.T) {
	env := loadLabEnv(t)
	installVirtualDomain(t)
	d := newLabDomain(t, env, "vd-typo")
	// runAgent's HA_RSCTMP: where the agent keeps its record of the domain.
	record := filepath.Join(os.TempDir(), "kvmha-lab-rsctmp", "kvmha-VirtualDomain-"+d.name+".record")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := libvirt.Dial(ctx, env["LIBVIRT_URI"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	running := func() bool {
		dom, err := c.DomainByName(ctx, d.name)
		if errors.Is(err, libvirt.ErrNotFound) {
			return false
		}
		if err != nil {
			t.Fatalf("lookup of %s: %v", d.name, err)
		}
		info, err := c.DomainInfo(ctx, dom)
		if errors.Is(err, libvirt.ErrNotFound) {
			return false
		}
		if err != nil {
			t.Fatalf("state of %s: %v", d.name, err)
		}
		return info.State != libvirt.StateShutoff
	}
	startGuest := func() {
		t.Helper()
		expectAgent(t, d, "start", 60*time.Second, 0)
		waitFor(t, 60*time.Second, "guest READY", func() bool { return consoleHas(env, d.name, "READY") })
		if _, err := os.Stat(record); err != nil {
			t.Fatalf("no record after start: %v", err)
		}
	}
	stoppedAndForgotten := func(how string) {
		t.Helper()
		if running() {
			t.Fatalf("%s: the guest still runs", how)
		}
		if _, err := os.Stat(record); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: the record is still there (%v)", how, err)
		}
		if qemuOf(d.name) != "" {
			t.Fatalf("%s: a qemu of the guest is left", how)
		}
	}

	// A parameter that does not parse: the runtime hands the stop to the record.
	startGuest()
	r := expectAgent(t, d, "stop", 60*time.Second, 0, "OCF_RESKEY_migration_downtime=abc")
	stoppedAndForgotten("migration_downtime=abc")
	if !consoleHas(env, d.name, "power button") {
		t.Errorf("the typo stop did not shut the guest down gracefully:\n%s", r.stderr)
	}
	// Nothing recorded any more: the same stop succeeds at once, asking nobody.
	if r := expectAgent(t, d, "stop", 10*time.Second, 0, "OCF_RESKEY_migration_downtime=abc"); r.took > 2*time.Second {
		t.Errorf("a stop with nothing to do took %v", r.took)
	}

	// The config file cannot be read (a FIFO nobody writes, like a hung mount) and the
	// hypervisor is no URI: the record still names the guest and its libvirtd.
	startGuest()
	fifo := filepath.Join(t.TempDir(), "vm.xml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// A probe judges the recorded guest (running), not the unusable parameters.
	expectAgent(t, d, "monitor", 20*time.Second, 0, "OCF_RESKEY_config="+fifo, "OCF_RESKEY_CRM_meta_interval=0")
	expectAgent(t, d, "monitor", 20*time.Second, 0, "OCF_RESKEY_hypervisor=a b/c", "OCF_RESKEY_CRM_meta_interval=0")
	expectAgent(t, d, "stop", 30*time.Second, 0, "OCF_RESKEY_config="+fifo, "OCF_RESKEY_hypervisor=a b/c")
	stoppedAndForgotten("config=<fifo> hypervisor=<not a URI>")
	expectAgent(t, d, "monitor", 20*time.Second, 7, "OCF_RESKEY_config="+fifo, "OCF_RESKEY_CRM_meta_interval=0")
}
