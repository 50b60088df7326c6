//go:build lab

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"
)

// defineLabGuest defines (persistently, not started) the lab's tiny guest under the lab
// libvirtd and returns its name and UUID; it is destroyed and undefined at the end.
func defineLabGuest(t *testing.T, l *libvirt.Libvirt) (libvirt.Domain, string) {
	t.Helper()
	name := uniqueName("fencelv")
	xml, err := labScript(t, time.Minute, "guest.sh", "domain", name)
	if err != nil {
		t.Fatalf("guest.sh domain: %v\n%s", err, xml)
	}
	dom, err := l.DomainDefineXML(xml)
	if err != nil {
		t.Fatalf("define %s: %v", name, err)
	}
	t.Cleanup(func() {
		l.DomainDestroy(dom)
		if err := l.DomainUndefine(dom); err != nil {
			t.Errorf("undefine %s: %v", name, err)
		}
	})
	u := dom.UUID
	return dom, strings.Join([]string{hexs(u[0:4]), hexs(u[4:6]), hexs(u[6:8]), hexs(u[8:10]), hexs(u[10:16])}, "-")
}

func hexs(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func domainState(t *testing.T, l *libvirt.Libvirt, dom libvirt.Domain) libvirt.DomainState {
	t.Helper()
	state, _, err := l.DomainGetState(dom, 0)
	if err != nil {
		t.Fatal(err)
	}
	return libvirt.DomainState(state)
}

// TestFenceLibvirtActions: every action of fence_libvirt against the lab libvirtd and a real
// guest, by name and by UUID, with options on stdin as pacemaker-fenced passes them.
func TestFenceLibvirtActions(t *testing.T) {
	env := loadLabEnv(t)
	bin := buildAgent(t, "cmd/fence_libvirt")
	l := connectLibvirt(t, env["LIBVIRT_URI"])
	dom, uuid := defineLabGuest(t, l)
	agent := func(action, plug string, extra ...string) (int, string, time.Duration) {
		opts := map[string]string{"action": action, "uri": env["LIBVIRT_URI"]}
		if plug != "" {
			opts["port"] = plug
		}
		for i := 0; i+1 < len(extra); i += 2 {
			opts[extra[i]] = extra[i+1]
		}
		return runFenceAgent(t, bin, opts)
	}
	expect := func(action, plug string, wantCode int, wantState libvirt.DomainState) time.Duration {
		t.Helper()
		code, out, took := agent(action, plug)
		if code != wantCode {
			t.Fatalf("%s %s: exit %d, want %d\n%s", action, plug, code, wantCode, out)
		}
		if got := domainState(t, l, dom); got != wantState {
			t.Fatalf("after %s: domain state %d, want %d", action, got, wantState)
		}
		t.Logf("%s %s: %.0f ms", action, plug, took.Seconds()*1000)
		return took
	}
	expect("status", dom.Name, 2, libvirt.DomainShutoff)
	expect("on", dom.Name, 0, libvirt.DomainRunning)
	expect("status", uuid, 0, libvirt.DomainRunning)
	expect("off", uuid, 0, libvirt.DomainShutoff)
	expect("off", dom.Name, 0, libvirt.DomainShutoff) // already off
	expect("reboot", dom.Name, 0, libvirt.DomainRunning)
	expect("reboot", dom.Name, 0, libvirt.DomainRunning) // running: off, then on

	code, out, _ := agent("list", "")
	if code != 0 || !strings.Contains(out, dom.Name+","+uuid+"\n") {
		t.Fatalf("list: exit %d\n%s", code, out)
	}
	if code, out, _ := agent("list-status", ""); code != 0 || !strings.Contains(out, dom.Name+","+uuid+",on\n") {
		t.Fatalf("list-status: exit %d\n%s", code, out)
	}
	if code, out, _ := agent("monitor", ""); code != 0 {
		t.Fatalf("monitor: exit %d\n%s", code, out)
	}
	if code, out, _ := agent("off", "no-such-guest"); code != 1 || !strings.Contains(out, "not found") {
		t.Fatalf("off of a missing guest: exit %d\n%s", code, out)
	}
	if code, out, _ := agent("off", "no-such-guest", "missing_as_off", "1"); code != 0 {
		t.Fatalf("off of a missing guest with missing_as_off: exit %d\n%s", code, out)
	}
	// ssh is a transport (fence_libvirt_ssh_test.go); ext runs a program of the URI's choosing.
	if code, out, _ := agent("status", dom.Name, "uri", "qemu+ext://localhost/system?command=/bin/true"); code != 1 || !strings.Contains(out, "unsupported libvirt URI") {
		t.Fatalf("an ext URI: exit %d\n%s", code, out)
	}
}

// TestPacemakerFencesThroughFenceLibvirt: Pacemaker's fencer powers a guest named as a node
// (pcmk_host_map) off, on and through a reboot with fence_libvirt.
func TestPacemakerFencesThroughFenceLibvirt(t *testing.T) {
	env := loadLabEnv(t)
	if st := oneNodeStatus(); !st.Summary.DC.Present {
		t.Fatal("the lab's one-node cluster is not up")
	}
	installFenceAgent(t, buildAgent(t, "cmd/fence_libvirt"), "fence_libvirt")
	l := connectLibvirt(t, env["LIBVIRT_URI"])
	dom, _ := defineLabGuest(t, l)
	if err := l.DomainCreate(dom); err != nil {
		t.Fatal(err)
	}
	id := uniqueName("lv-fence")
	createStonith(t, id, "fence_libvirt", "uri="+env["LIBVIRT_URI"], "pcmk_host_map=guestnode:"+dom.Name)

	code, out, took := stonithAdmin(t, "--fence", "guestnode", "--timeout", "60")
	if code != 0 || domainState(t, l, dom) != libvirt.DomainShutoff {
		t.Fatalf("stonith_admin --fence guestnode: exit %d, state %d\n%s", code, domainState(t, l, dom), out)
	}
	t.Logf("stonith_admin --fence guestnode through fence_libvirt took %.0f ms", took.Seconds()*1000)
	if code, out, _ := stonithAdmin(t, "--unfence", "guestnode", "--timeout", "60"); code != 0 || domainState(t, l, dom) != libvirt.DomainRunning {
		t.Fatalf("stonith_admin --unfence guestnode: exit %d\n%s", code, out)
	}
	if code, out, took := stonithAdmin(t, "--reboot", "guestnode", "--timeout", "60"); code != 0 || domainState(t, l, dom) != libvirt.DomainRunning {
		t.Fatalf("stonith_admin --reboot guestnode: exit %d\n%s", code, out)
	} else {
		t.Logf("stonith_admin --reboot guestnode took %.0f ms", took.Seconds()*1000)
	}
	if _, hist, _ := stonithAdmin(t, "--history", "guestnode", "--output-as=xml"); !strings.Contains(hist, `status="success"`) {
		t.Fatalf("fencing history of guestnode:\n%s", hist)
	}
}

// TestPcsTakesFenceVirshConfiguration: a device written for fence_virsh (ipaddr=, login=)
// passes pcs' validation against fence_libvirt's meta-data, with pcs' deprecation warnings,
// as it does for fence-agents' own renamed options.
func TestPcsTakesFenceVirshConfiguration(t *testing.T) {
	installFenceAgent(t, buildAgent(t, "cmd/fence_libvirt"), "fence_libvirt")
	cib := filepath.Join(t.TempDir(), "cib.xml")
	if out, err := exec.Command("cibadmin", "--empty").Output(); err != nil {
		t.Fatalf("cibadmin --empty: %v", err)
	} else if err := os.WriteFile(cib, out, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pcs", "-f", cib, "stonith", "create", "virsh-style", "fence_libvirt",
		"ipaddr=192.0.2.1", "login=root", "plug=vm1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "'ipaddr' is deprecated") {
		t.Fatalf("pcs stonith create with fence_virsh's options: %v\n%s", err, out)
	}
}
