package virtualdomain

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/agents/virtualdomain/cephapi"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

func TestMonitorRunningIsOneRoundTrip(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.set("OCF_RESKEY_CRM_meta_interval", "10000")
	h.expect("monitor", ocf.Success)
	calls := strings.Join(h.hv.callList(), ",")
	if calls != "dial "+testURI+",DomainInfo,Close" {
		t.Fatalf("calls: %s", calls)
	}
	if len(h.commands()) != 0 {
		t.Fatalf("monitor ran programs: %v", h.commands())
	}
}

func TestMonitorStates(t *testing.T) {
	for _, tc := range []struct {
		state libvirt.State
		want  ocf.ExitCode
	}{
		{libvirt.StateRunning, ocf.Success},
		{libvirt.StatePaused, ocf.Success},
		{libvirt.StateBlocked, ocf.Success},
		{libvirt.StateShutdown, ocf.Success},
		{libvirt.StatePMSuspended, ocf.Success},
		{libvirt.StateShutoff, ocf.NotRunning},
		{libvirt.StateCrashed, ocf.ErrGeneric},
	} {
		t.Run(tc.state.String(), func(t *testing.T) {
			h := newHarness(t)
			h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: tc.state})
			h.expect("monitor", tc.want)
		})
	}
}

func TestMonitorNotDefinedIsNotRunning(t *testing.T) {
	h := newHarness(t)
	r := h.expect("monitor", ocf.NotRunning)
	if r.Reason != "" {
		t.Fatalf("probe got a reason: %q", r.Reason)
	}
}

// Without a UUID in the XML the domain is looked up by name.
func TestMonitorWithoutUUIDLooksUpByName(t *testing.T) {
	h := newHarness(t)
	h.writeConfig(domainXML("vm1", "", ""))
	h.hv.add(&fakeDomain{name: "vm1", state: libvirt.StateRunning})
	h.expect("monitor", ocf.Success)
	if h.hv.called("DomainByName") != 1 {
		t.Fatalf("calls: %v", h.hv.callList())
	}
}

// Without a UUID in the XML, the first monitor records the one libvirt gave
// the domain, and the next ones need no lookup; a domain defined again with
// another UUID is found by name again and recorded.
func TestMonitorWithoutUUIDRemembersLibvirtsUUID(t *testing.T) {
	h := newHarness(t)
	h.writeConfig(domainXML("vm1", "", ""))
	d := &fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning}
	h.hv.add(d)
	h.expect("monitor", ocf.Success)
	if h.hv.called("DomainByName") != 1 {
		t.Fatalf("first monitor: %v", h.hv.callList())
	}
	h.expect("monitor", ocf.Success)
	if h.hv.called("DomainByName") != 1 {
		t.Fatalf("second monitor looked the domain up again: %v", h.hv.callList())
	}
	d.uuid = "11111111-2222-4333-8444-555555555555"
	h.expect("monitor", ocf.Success)
	h.expect("monitor", ocf.Success)
	if n := h.hv.called("DomainByName"); n != 2 {
		t.Fatalf("after the UUID changed: %d lookups, want 2: %v", n, h.hv.callList())
	}
}

// A domain named like ours but with another UUID still counts: it holds the name.
func TestMonitorFallsBackToNameWhenUUIDUnknown(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: "11111111-2222-4333-8444-555555555555", state: libvirt.StateRunning})
	h.expect("monitor", ocf.Success)
}

func TestMonitorNoStateFailsAtDeadline(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.set("OCF_RESKEY_CRM_meta_timeout", "3000")
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateNoState})
	r := h.expect("monitor", ocf.ErrGeneric)
	within(t, r, 3*time.Second)
	if !strings.Contains(r.Reason, "no state") {
		t.Fatalf("reason: %q", r.Reason)
	}
}

func TestMonitorLibvirtdDownDecidesByProcess(t *testing.T) {
	h := newHarness(t)
	h.hv.down()
	h.set("OCF_RESKEY_CRM_meta_interval", "10000")
	h.qemu.procs["vm1"] = []int{4242}
	r := h.expect("monitor", ocf.Success)
	if !strings.Contains(r.Stderr, "qemu process 4242") {
		t.Fatalf("no warning about the fallback: %s", r.Stderr)
	}
	h.qemu.procs["vm1"] = nil
	r = h.expect("monitor", ocf.NotRunning)
	if !strings.Contains(r.Reason, "no qemu process") {
		t.Fatalf("reason: %q", r.Reason)
	}
	h.qemu.err = errors.New("permission denied")
	h.expect("monitor", ocf.ErrGeneric)
}

func TestMonitorLibvirtdDownNonQemuDomainFails(t *testing.T) {
	h := newHarness(t)
	h.writeConfig(strings.Replace(domainXML("vm1", testUUID, ""), "type='kvm'", "type='lxc'", 1))
	h.hv.down()
	h.expect("monitor", ocf.ErrGeneric)
}

// libvirtd accepts the connection but never answers (SIGSTOP): the monitor
// answers from the process table before its timeout.
func TestMonitorLibvirtdHungAnswersInTime(t *testing.T) {
	t.Parallel()
	for _, hangAt := range []string{"dial", "DomainInfo"} {
		t.Run(hangAt, func(t *testing.T) {
			h := newHarness(t)
			h.set("OCF_RESKEY_CRM_meta_timeout", "4000", "OCF_RESKEY_CRM_meta_interval", "10000")
			h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
			if hangAt == "dial" {
				h.hv.dialHang = true
			} else {
				h.hv.hang["DomainInfo"] = true
			}
			h.qemu.procs["vm1"] = []int{77}
			r := h.expect("monitor", ocf.Success)
			within(t, r, 4*time.Second)
		})
	}
}

func TestMonitorOtherLibvirtErrorFails(t *testing.T) {
	h := newHarness(t)
	h.hv.fail["DomainInfo"] = &libvirt.Error{Op: "info", Code: 1, Err: errors.New("internal error")}
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.expect("monitor", ocf.ErrGeneric)
}

func TestMonitorUnreadableConfig(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.expect("start", ocf.Success) // remembers vm1
	h.set("OCF_RESKEY_config", h.dir+"/gone.xml")
	h.set("OCF_RESKEY_CRM_meta_interval", "0")
	r := h.expect("monitor", ocf.Success)
	if !strings.Contains(r.Stderr, "which this node started") {
		t.Fatalf("stderr: %s", r.Stderr)
	}
	// Nothing remembered: a probe says "not running", like the shell agent.
	h.set("OCF_RESOURCE_INSTANCE", "other")
	h.expect("monitor", ocf.NotRunning)
	h.set("OCF_RESKEY_CRM_meta_interval", "10000")
	h.expect("monitor", ocf.ErrGeneric)
}

func TestMonitorDepth10PingsGuestAgent(t *testing.T) {
	h := newHarness(t)
	channel := `<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>`
	h.writeConfig(domainXML("vm1", testUUID, channel))
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.expect("monitor", ocf.Success)
	if h.hv.called("AgentPing") != 0 {
		t.Fatal("depth 0 pinged the agent")
	}
	h.set("OCF_CHECK_LEVEL", "10")
	h.expect("monitor", ocf.Success)
	if h.hv.called("AgentPing") != 1 {
		t.Fatal("depth 10 did not ping the agent")
	}
	h.hv.fail["AgentPing"] = &libvirt.Error{Op: "ping", Code: 86, Err: errors.New("guest agent is not responding")}
	h.set("OCF_RESKEY_CRM_meta_interval", "10000")
	r := h.expect("monitor", ocf.ErrGeneric)
	if !strings.Contains(r.Reason, "guest agent") {
		t.Fatalf("reason %q", r.Reason)
	}
}

func TestMonitorDepth20ChecksLocalWatcher(t *testing.T) {
	h := newHarness(t)
	h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/vm1", testUUID)))
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.set("OCF_CHECK_LEVEL", "20", "OCF_RESKEY_CRM_meta_interval", "10000")
	h.ceph.images["rbd/vm1"] = cephapi.Status{Exists: true, Holders: []cephapi.Holder{holder("10.0.0.1", "client.1", false)}}
	h.expect("monitor", ocf.Success)
	h.ceph.images["rbd/vm1"] = cephapi.Status{Exists: true, Holders: []cephapi.Holder{holder("10.0.0.2", "client.2", false)}}
	r := h.expect("monitor", ocf.ErrGeneric)
	if !strings.Contains(r.Reason, "does not hold RBD image rbd/vm1") {
		t.Fatalf("reason %q", r.Reason)
	}
}

func TestMonitorScripts(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.set("OCF_RESKEY_monitor_scripts", "/bin/check-a /bin/check-b", "OCF_RESKEY_CRM_meta_interval", "10000")
	h.expect("monitor", ocf.Success)
	if got := h.commands(); len(got) != 2 || got[0][0] != "/bin/check-a" || got[1][0] != "/bin/check-b" {
		t.Fatalf("ran %v", got)
	}
	h.runFunc = func(argv []string) (string, int, error) {
		if argv[0] == "/bin/check-b" {
			return "disk full\n", 3, nil
		}
		return "", 0, nil
	}
	r := h.expect("monitor", ocf.ErrGeneric)
	if !strings.Contains(r.Reason, `"/bin/check-b" for domain vm1 returned 3 with output: disk full`) {
		t.Fatalf("reason %q", r.Reason)
	}
	h.runFunc = func(argv []string) (string, int, error) { return "", -1, errors.New("exec: not found") }
	h.expect("monitor", ocf.ErrGeneric)
}

func TestMonitorSavesConfig(t *testing.T) {
	h := newHarness(t)
	newXML := domainXML("vm1", testUUID, "<!-- changed -->")
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning, xml: newXML})
	h.set("OCF_RESKEY_save_config_on_stop", "true")
	h.expect("monitor", ocf.Success)
	got, _ := readFile(h.config)
	if got != newXML {
		t.Fatalf("config not saved: %s", got)
	}
	h.set("OCF_RESKEY_sync_config_on_stop", "true")
	h.hv.domain("vm1").xml = domainXML("vm1", testUUID, "<!-- again -->")
	if _, err := lookPathCsync2(); err == nil {
		h.expect("monitor", ocf.Success)
	}
}

// A depth-20 monitor that finds the qemu holding its image no more notes it in this node's
// record; stop then destroys the guest at once (its I/O hangs: a graceful shutdown would
// only wait out the stop's time), and a new start clears the note.
func TestStorageLostGuestIsDestroyedAtOnce(t *testing.T) {
	h := newHarness(t)
	h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/vm1", testUUID)))
	h.ceph.images["rbd/vm1"] = cephapi.Status{Exists: true}
	h.expect("start", ocf.Success)
	h.set("OCF_CHECK_LEVEL", "20", "OCF_RESKEY_CRM_meta_interval", "10000")
	h.ceph.images["rbd/vm1"] = cephapi.Status{Exists: true, Holders: []cephapi.Holder{holder("10.0.0.1", "client.1", false)}}
	h.expect("monitor", ocf.Success)
	if rec, _ := h.record("vm1"); rec.StorageLost != "" {
		t.Fatalf("a healthy monitor noted %q", rec.StorageLost)
	}
	h.ceph.images["rbd/vm1"] = cephapi.Status{Exists: true}
	h.expect("monitor", ocf.ErrGeneric)
	if rec, _ := h.record("vm1"); !strings.Contains(rec.StorageLost, "no watch of RBD image rbd/vm1") {
		t.Fatalf("record after the failed monitor: %+v", rec)
	}
	h.set("OCF_CHECK_LEVEL", "0", "OCF_RESKEY_CRM_meta_interval", "0")
	h.qemu.mu.Lock()
	h.qemu.procs = map[string][]int{"vm1": {4242}}
	h.qemu.dieOn = "kill"
	h.qemu.mu.Unlock()
	h.expect("stop", ocf.Success)
	if calls := strings.Join(h.hv.callList(), ","); strings.Contains(calls, "Shutdown") || h.hv.called("Destroy") != 1 {
		t.Fatalf("calls %s", calls)
	}
	if got := strings.Join(h.qemu.signals, ","); got != "kill 4242" {
		t.Fatalf("signals %q, want SIGKILL to the stuck qemu before the destroy", got)
	}
	h.expect("start", ocf.Success)
	if rec, _ := h.record("vm1"); rec.StorageLost != "" {
		t.Fatalf("a new start kept the note %q", rec.StorageLost)
	}
}
