package virtualdomain

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/agents/virtualdomain/cephapi"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

func TestStopGracefulAndIdempotent(t *testing.T) {
	h := newHarness(t)
	h.expect("start", ocf.Success)
	h.hv.domain("vm1").shutdownPolls = 2
	h.expect("stop", ocf.Success)
	if h.hv.domain("vm1") != nil || h.hv.called("Destroy") != 0 {
		t.Fatalf("calls %v", h.hv.callList())
	}
	if _, ok := h.record("vm1"); ok {
		t.Fatal("still remembered after stop")
	}
	h.expect("stop", ocf.Success)
	h.expect("monitor", ocf.NotRunning)
}

func TestStopDefinedShutOffDomainSucceeds(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateShutoff, persistent: true})
	h.expect("stop", ocf.Success)
	if h.hv.called("Shutdown mode=0") != 0 {
		t.Fatal("shut down a stopped domain")
	}
}

func TestStopHonoursShutdownMode(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning, stopsOnShutdown: true})
	h.set("OCF_RESKEY_shutdown_mode", "agent,acpi")
	h.expect("stop", ocf.Success)
	want := fmt.Sprintf("Shutdown mode=%d", libvirt.ShutdownAgent|libvirt.ShutdownACPI)
	if h.hv.called(want) != 1 {
		t.Fatalf("calls %v", h.hv.callList())
	}
}

// A guest that ignores the shutdown request is destroyed before the deadline.
func TestStopDestroysWhenDeadlineNears(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.set("OCF_RESKEY_CRM_meta_timeout", "6000")
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	r := h.expect("stop", ocf.Success)
	within(t, r, 6*time.Second)
	if h.hv.called("Destroy") != 1 || h.hv.domain("vm1") != nil {
		t.Fatalf("calls %v", h.hv.callList())
	}
	if r.Took < 1500*time.Millisecond {
		t.Fatalf("destroyed after %v: the graceful phase was cut short", r.Took)
	}
}

func TestStopForceStopAndCrashedDestroyAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		state libvirt.State
		force string
	}{{"force_stop", libvirt.StateRunning, "true"}, {"crashed", libvirt.StateCrashed, "false"}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: tc.state})
			h.set("OCF_RESKEY_force_stop", tc.force)
			h.expect("stop", ocf.Success)
			calls := strings.Join(h.hv.callList(), ",")
			if strings.Contains(calls, "Shutdown") || h.hv.called("Destroy") != 1 {
				t.Fatalf("calls %s", calls)
			}
		})
	}
}

func TestStopShutdownRefusedDestroys(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.hv.fail["Shutdown mode=2"] = &libvirt.Error{Op: "shutdown", Code: 86, Err: errors.New("guest agent not responding")}
	h.set("OCF_RESKEY_shutdown_mode", "agent")
	r := h.expect("stop", ocf.Success)
	if h.hv.called("Destroy") != 1 || r.Took > time.Second {
		t.Fatalf("took %v, calls %v", r.Took, h.hv.callList())
	}
}

func TestStopRetriesDestroyAndFailsInTime(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.set("OCF_RESKEY_force_stop", "true", "OCF_RESKEY_CRM_meta_timeout", "3000")
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning, destroyFailures: 3})
	h.expect("stop", ocf.Success)
	// libvirt never manages, and the qemu survives every signal: stop fails
	// before the deadline.
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning, destroyFailures: 1 << 30})
	h.qemu.procs["vm1"] = []int{100}
	h.qemu.dieOn = "never"
	r := h.expect("stop", ocf.ErrGeneric)
	within(t, r, 3*time.Second)
}

// libvirtd's destroy hangs (a qemu stuck on lost storage): half the time left
// goes to it, the other half to SIGTERM and SIGKILL of the qemu by the agent.
func TestStopKillsQemuWhenDestroyHangs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.set("OCF_RESKEY_force_stop", "true", "OCF_RESKEY_CRM_meta_timeout", "8000")
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning, destroyHangs: true})
	h.qemu.procs["vm1"] = []int{100}
	h.qemu.dieOn = "kill"
	r := h.expect("stop", ocf.Success)
	within(t, r, 8*time.Second)
	if strings.Join(h.qemu.signals, ",") != "term 100,kill 100" {
		t.Fatalf("signals %v", h.qemu.signals)
	}
}

func TestStopSavesSnapshot(t *testing.T) {
	h := newHarness(t)
	snap := t.TempDir()
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.set("OCF_RESKEY_snapshot", snap)
	h.expect("stop", ocf.Success)
	if h.hv.saved != filepath.Join(snap, "vm1.state") || h.hv.called("Shutdown mode=0") != 0 {
		t.Fatalf("saved %q, calls %v", h.hv.saved, h.hv.callList())
	}
}

func TestStopLibvirtdDown(t *testing.T) {
	t.Parallel()
	t.Run("no qemu", func(t *testing.T) {
		h := newHarness(t)
		h.hv.down()
		r := h.expect("stop", ocf.Success)
		if !strings.Contains(r.Stderr, "no qemu process of domain vm1") {
			t.Fatalf("stderr %s", r.Stderr)
		}
	})
	t.Run("qemu dies on SIGTERM", func(t *testing.T) {
		h := newHarness(t)
		h.set("OCF_RESKEY_CRM_meta_timeout", "5000")
		h.hv.down()
		h.qemu.procs["vm1"] = []int{100}
		r := h.expect("stop", ocf.Success)
		within(t, r, 5*time.Second)
		if strings.Join(h.qemu.signals, ",") != "term 100" {
			t.Fatalf("signals %v", h.qemu.signals)
		}
	})
	t.Run("qemu needs SIGKILL", func(t *testing.T) {
		h := newHarness(t)
		h.set("OCF_RESKEY_CRM_meta_timeout", "5000")
		h.hv.dialHang = true
		h.qemu.procs["vm1"] = []int{100}
		h.qemu.dieOn = "kill"
		r := h.expect("stop", ocf.Success)
		within(t, r, 5*time.Second)
		if strings.Join(h.qemu.signals, ",") != "term 100,kill 100" {
			t.Fatalf("signals %v", h.qemu.signals)
		}
	})
	t.Run("qemu survives", func(t *testing.T) {
		h := newHarness(t)
		h.set("OCF_RESKEY_CRM_meta_timeout", "5000")
		h.hv.dialHang = true
		h.qemu.procs["vm1"] = []int{100}
		h.qemu.dieOn = "never"
		r := h.expect("stop", ocf.ErrGeneric)
		within(t, r, 5*time.Second)
	})
	t.Run("process table unreadable", func(t *testing.T) {
		h := newHarness(t)
		h.hv.down()
		h.qemu.err = errors.New("EPERM")
		h.expect("stop", ocf.ErrGeneric)
	})
}

// libvirtd hangs in the middle of the shutdown: stop still ends in time.
func TestStopLibvirtdHangsDuringShutdown(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.set("OCF_RESKEY_CRM_meta_timeout", "6000")
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.hv.hang["Shutdown mode=0"] = true
	h.qemu.procs["vm1"] = []int{55}
	r := h.expect("stop", ocf.Success)
	within(t, r, 6*time.Second)
	if len(h.qemu.signals) == 0 {
		t.Fatal("qemu was not signalled")
	}
}

// libvirtd comes back while stop waits: the normal shutdown is used.
func TestStopLibvirtdComesBack(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning, stopsOnShutdown: true})
	h.hv.down()
	h.qemu.procs["vm1"] = []int{55}
	go func() {
		time.Sleep(200 * time.Millisecond)
		h.hv.mu.Lock()
		h.hv.dialErr = nil
		h.hv.mu.Unlock()
	}()
	h.expect("stop", ocf.Success)
	if len(h.qemu.signals) != 0 || h.hv.called("Shutdown mode=0") != 1 {
		t.Fatalf("signals %v calls %v", h.qemu.signals, h.hv.callList())
	}
}

func TestStopUnreadableConfig(t *testing.T) {
	h := newHarness(t)
	h.expect("start", ocf.Success)
	h.hv.domain("vm1").stopsOnShutdown = true
	h.set("OCF_RESKEY_config", filepath.Join(h.dir, "gone.xml"))
	r := h.expect("stop", ocf.Success)
	if h.hv.domain("vm1") != nil || !strings.Contains(r.Stderr, "which this node started") {
		t.Fatalf("domain left running; stderr %s", r.Stderr)
	}
	// Nothing started here: stop succeeds without asking libvirt.
	h.expect("stop", ocf.Success)
	os.WriteFile(filepath.Join(h.dir, "gone.xml"), []byte("<garbage"), 0o644)
	h.expect("stop", ocf.Success)
}

// After a destroy, what this node's killed qemu left on the guest's RBD images (the lock,
// a watch not yet timed out) is fenced, so that the next start elsewhere need not refuse
// or wait; another host's holders, and images something here still uses, are left alone.
func TestStopDestroyReleasesWhatTheKilledQemuHeld(t *testing.T) {
	h := newHarness(t)
	h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/vm1", testUUID)+rbdDiskXML("vdb", "rbd/vm1b", testUUID)))
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	mine, theirs := holder("10.0.0.1", "client.1", false), holder("10.0.0.2", "client.2", false)
	mine.Kind = "locker"
	h.ceph.images["rbd/vm1"] = cephapi.Status{Exists: true, Holders: []cephapi.Holder{mine, theirs}}
	other := holder("10.0.0.1", "client.3", false)
	other.Address = "10.0.0.1:0/999"
	h.ceph.images["rbd/vm1b"] = cephapi.Status{Exists: true, Holders: []cephapi.Holder{other}}
	h.mu.Lock()
	h.users = map[string][]string{"rbd/vm1b": {"rbd-nbd pid 42"}}
	h.mu.Unlock()
	h.set("OCF_RESKEY_force_stop", "true")
	h.expect("stop", ocf.Success)
	if got := strings.Join(h.ceph.fenced, ","); got != mine.Address {
		t.Fatalf("fenced %q, want only %s (the killed qemu's)", got, mine.Address)
	}
}

// The same release when libvirtd's destroy hangs and the agent kills the qemu itself, and
// when libvirtd does not answer at all: a qemu that ends on a signal while its I/O hangs
// leaves its lock behind just the same.
func TestStopKillWithoutLibvirtReleasesWhatTheQemuHeld(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(h *harness)
	}{
		{"destroy hangs", func(h *harness) {
			h.set("OCF_RESKEY_force_stop", "true")
			h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning, destroyHangs: true})
		}},
		{"libvirtd down", func(h *harness) { h.hv.down() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.set("OCF_RESKEY_CRM_meta_timeout", "8000")
			h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/vm1", testUUID)))
			tc.setup(h)
			h.qemu.procs["vm1"] = []int{100}
			mine, theirs := holder("10.0.0.1", "client.1", false), holder("10.0.0.2", "client.2", false)
			mine.Kind = "locker"
			h.ceph.images["rbd/vm1"] = cephapi.Status{Exists: true, Holders: []cephapi.Holder{mine, theirs}}
			r := h.expect("stop", ocf.Success)
			within(t, r, 8*time.Second)
			if got := strings.Join(h.ceph.fenced, ","); got != mine.Address {
				t.Fatalf("fenced %q, want only %s (the killed qemu's)\n%s", got, mine.Address, r.Stderr)
			}
		})
	}
}
