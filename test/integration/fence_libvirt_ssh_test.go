//go:build lab

package integration

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"
)

// labSSHD is a private sshd on 127.0.0.1 for the lab's libvirtd: root logs
// in with a key of the test's own, and the remote socket of a system URI,
// /run/libvirt/libvirt-sock, is the lab libvirtd's socket.
type labSSHD struct {
	port       int
	key        string // the client's private key (root's login)
	knownHosts string // a known hosts file with the server's key
	socket     string // the lab libvirtd's socket
}

// startLabSSHD runs sshd -D with a generated host key and authorized_keys
// in a temporary folder, in a mount namespace of its own where a tmpfs on
// /run holds sshd's privilege separation folder and /run/libvirt/libvirt-sock,
// a link to the lab libvirtd's socket: nothing of the host's /run changes.
// It is stopped at the end of the test.
func startLabSSHD(t *testing.T, libvirtURI string) *labSSHD {
	t.Helper()
	for _, tool := range []string{"/usr/sbin/sshd", "ssh-keygen", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s: %v (openssh-server and util-linux are lab dependencies)", tool, err)
		}
	}
	u, err := url.Parse(libvirtURI)
	if err != nil || u.Query().Get("socket") == "" {
		t.Fatalf("LIBVIRT_URI %q names no socket", libvirtURI)
	}
	dir := t.TempDir()
	s := &labSSHD{key: filepath.Join(dir, "id_ed25519"), knownHosts: filepath.Join(dir, "known_hosts"), socket: u.Query().Get("socket")}
	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	for _, k := range []string{hostKey, s.key} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kvmha-lab", "-f", k).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen %s: %v\n%s", k, err, out)
		}
	}
	clientPub, err := os.ReadFile(s.key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	authorized := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorized, clientPub, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	hostPub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(hostPub))
	line := "[127.0.0.1]:" + strconv.Itoa(s.port) + " " + fields[0] + " " + fields[1] + "\n"
	if err := os.WriteFile(s.knownHosts, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(config, []byte(strings.Join([]string{
		"Port " + strconv.Itoa(s.port),
		"ListenAddress 127.0.0.1",
		"HostKey " + hostKey,
		"PidFile none",
		"AuthorizedKeysFile " + authorized,
		"PermitRootLogin prohibit-password",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"StrictModes no",
		"AllowStreamLocalForwarding yes",
		"LogLevel VERBOSE",
	}, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "sshd.log")
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/sshd /run/libvirt && ln -s "$0" /run/libvirt/libvirt-sock && `+
			`exec /usr/sbin/sshd -D -f "$1" -E "$2"`, s.socket, config, log)
	if err := cmd.Start(); err != nil {
		t.Fatalf("sshd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() // sshd -D, exec'd by sh: its listener; sessions end with their connections
		cmd.Wait()
		if t.Failed() {
			if data, err := os.ReadFile(log); err == nil {
				t.Logf("sshd log:\n%s", data)
			}
		}
	})
	waitFor(t, 10*time.Second, "sshd on port "+strconv.Itoa(s.port), func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.port), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return s
}

// fenceVirshOptions are a fence_virsh device's parameters for the lab's
// sshd: address, port, root's key, ssh, and ssh options naming the known
// hosts file (the only way fence_virsh has to name one).
func (s *labSSHD) fenceVirshOptions() map[string]string {
	return map[string]string{
		"ip": "127.0.0.1", "ipport": strconv.Itoa(s.port), "username": "root", "identity_file": s.key, "ssh": "1",
		"ssh_options": "-o UserKnownHostsFile=" + s.knownHosts,
	}
}

// TestFenceLibvirtOverSSH: fence_libvirt reaches the lab libvirtd through a
// real sshd, with fence_virsh's options and with a qemu+ssh URI, and fences
// a guest; host keys are checked.
func TestFenceLibvirtOverSSH(t *testing.T) {
	env := loadLabEnv(t)
	bin := buildAgent(t, "cmd/fence_libvirt")
	l := connectLibvirt(t, env["LIBVIRT_URI"])
	dom, uuid := defineLabGuest(t, l)
	sshd := startLabSSHD(t, env["LIBVIRT_URI"])

	agent := func(action, plug string, opts map[string]string) (int, string) {
		all := map[string]string{"action": action, "port": plug}
		for k, v := range opts {
			all[k] = v
		}
		code, out, took := runFenceAgent(t, bin, all)
		t.Logf("%s %s: exit %d in %.0f ms", action, plug, code, took.Seconds()*1000)
		return code, out
	}
	expect := func(action, plug string, opts map[string]string, wantCode int, wantState libvirt.DomainState) {
		t.Helper()
		if code, out := agent(action, plug, opts); code != wantCode {
			t.Fatalf("%s %s: exit %d, want %d\n%s", action, plug, code, wantCode, out)
		}
		if got := domainState(t, l, dom); got != wantState {
			t.Fatalf("after %s: domain state %d, want %d", action, got, wantState)
		}
	}

	virsh := sshd.fenceVirshOptions()
	expect("status", dom.Name, virsh, 2, libvirt.DomainShutoff)
	expect("on", dom.Name, virsh, 0, libvirt.DomainRunning)
	expect("off", uuid, virsh, 0, libvirt.DomainShutoff)
	expect("reboot", dom.Name, virsh, 0, libvirt.DomainRunning)
	if code, out := agent("list", "", virsh); code != 0 || !strings.Contains(out, dom.Name+","+uuid+"\n") {
		t.Fatalf("list over ssh: exit %d\n%s", code, out)
	}

	// The same with libvirt's URI parameters, the socket named.
	uri := "qemu+ssh://root@127.0.0.1:" + strconv.Itoa(sshd.port) + "/system?keyfile=" + url.QueryEscape(sshd.key) +
		"&known_hosts=" + url.QueryEscape(sshd.knownHosts) + "&socket=" + url.QueryEscape(sshd.socket)
	expect("off", dom.Name, map[string]string{"uri": uri}, 0, libvirt.DomainShutoff)
	expect("status", dom.Name, map[string]string{"uri": uri}, 2, libvirt.DomainShutoff)

	// A host no known hosts file holds is refused, unless accepted.
	unknown := sshd.fenceVirshOptions()
	unknown["ssh_options"] = "-o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null"
	if code, out := agent("status", dom.Name, unknown); code != 1 || !strings.Contains(out, "is not in any known hosts file") {
		t.Fatalf("an unknown host: exit %d\n%s", code, out)
	}
	unknown["ssh_options"] += " -o StrictHostKeyChecking=accept-new"
	expect("status", dom.Name, unknown, 2, libvirt.DomainShutoff)
}

// TestPacemakerSwitchesFenceVirshToFenceLibvirt: a fence_virsh device, as
// configured for fence_virsh, becomes a fence_libvirt one by changing its
// agent; pcs accepts its options for fence_libvirt without --force, and
// Pacemaker's fencer powers the guest off, on and through a reboot over ssh.
func TestPacemakerSwitchesFenceVirshToFenceLibvirt(t *testing.T) {
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
	sshd := startLabSSHD(t, env["LIBVIRT_URI"])
	var params []string
	for k, v := range sshd.fenceVirshOptions() {
		params = append(params, k+"="+v)
	}
	hostMap := "pcmk_host_map=sshguestnode:" + dom.Name

	pcs := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "pcs", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("pcs %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// pcs validates every option of a new fence_libvirt device: the
	// fence_virsh ones must pass without --force (in a scratch CIB).
	cib := filepath.Join(t.TempDir(), "cib.xml")
	if out, err := exec.Command("cibadmin", "--empty").Output(); err != nil {
		t.Fatalf("cibadmin --empty: %v", err)
	} else if err := os.WriteFile(cib, out, 0o600); err != nil {
		t.Fatal(err)
	}
	if out := pcs(append([]string{"-f", cib, "stonith", "create", "probe", "fence_libvirt", hostMap, "--agent-validation"}, params...)...); strings.Contains(out, "Error") {
		t.Fatalf("pcs stonith create fence_libvirt with fence_virsh's options:\n%s", out)
	}

	// The device as fence_virsh had it, disabled (fence_virsh itself
	// cannot reach the lab libvirtd's socket).
	id := uniqueName("virsh-to-libvirt")
	pcs(append([]string{"stonith", "create", id, "fence_virsh", hostMap, "--disabled"}, params...)...)
	t.Cleanup(func() {
		if out, err := exec.Command("pcs", "stonith", "delete", id).CombinedOutput(); err != nil {
			t.Errorf("pcs stonith delete %s: %v\n%s", id, err, out)
		}
	})
	// pcs has no command to change a device's agent: the CIB is changed
	// in place, the options kept.
	if out, err := exec.Command("cibadmin", "--modify", "--xml-text",
		`<primitive id="`+id+`" type="fence_libvirt"/>`).CombinedOutput(); err != nil {
		t.Fatalf("switching %s to fence_libvirt: %v\n%s", id, err, out)
	}
	// pcs stonith update checks the options given against fence_libvirt's
	// meta-data (deprecated names, required ones), without --force.
	if out := pcs(append([]string{"stonith", "update", id, "--agent-validation"}, params...)...); strings.Contains(out, "Error") {
		t.Fatalf("pcs stonith update %s:\n%s", id, out)
	}
	pcs("stonith", "enable", id)
	waitFor(t, 60*time.Second, id+" started", func() bool { return oneNodeStatus().runningOn(id) == "node1" })

	code, out, took := stonithAdmin(t, "--fence", "sshguestnode", "--timeout", "60")
	if code != 0 || domainState(t, l, dom) != libvirt.DomainShutoff {
		t.Fatalf("stonith_admin --fence sshguestnode: exit %d, state %d\n%s", code, domainState(t, l, dom), out)
	}
	t.Logf("stonith_admin --fence over ssh took %.0f ms", took.Seconds()*1000)
	if code, out, _ := stonithAdmin(t, "--unfence", "sshguestnode", "--timeout", "60"); code != 0 || domainState(t, l, dom) != libvirt.DomainRunning {
		t.Fatalf("stonith_admin --unfence sshguestnode: exit %d\n%s", code, out)
	}
	if code, out, _ := stonithAdmin(t, "--reboot", "sshguestnode", "--timeout", "60"); code != 0 || domainState(t, l, dom) != libvirt.DomainRunning {
		t.Fatalf("stonith_admin --reboot sshguestnode: exit %d\n%s", code, out)
	}
	if _, hist, _ := stonithAdmin(t, "--history", "sshguestnode", "--output-as=xml"); !strings.Contains(hist, `status="success"`) {
		t.Fatalf("fencing history of sshguestnode:\n%s", hist)
	}
}
