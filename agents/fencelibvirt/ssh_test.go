package fencelibvirt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"encoding/xml"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kvmha/kvmha/internal/files/filestest"
	"github.com/kvmha/kvmha/internal/libvirt"
)

// sshKeyFile writes a new ed25519 private key in OpenSSH format with the
// given mode, encrypted when passphrase is set.
func sshKeyFile(t *testing.T, dir string, mode os.FileMode, passphrase string) string {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	var block *pem.Block
	var err error
	if passphrase != "" {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	} else {
		block, err = ssh.MarshalPrivateKey(priv, "")
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, mode)
	return path
}

// isolatedHome points HOME at an empty folder, so that the user's own keys
// and known hosts do not enter the test.
func isolatedHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	return home
}

// script writes an executable shell script.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "getpw")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

// fenceVirshParameters are the 42 parameters of fence_virsh's meta-data
// (fence-agents 4.12).
var fenceVirshParameters = strings.Fields(`action cmd_prompt command_prompt identity_file inet4_only inet6_only ip ipaddr ipport
	login passwd passwd_script password password_script plug port secure ssh ssh_options username quiet verbose
	verbose_level debug debug_file version help plug_separator separator delay disable_timeout login_timeout
	missing_as_off power_timeout power_wait shell_timeout stonith_status_sleep retry_on sudo use_sudo ssh_path sudo_path`)

type metaParam struct {
	Name       string `xml:"name,attr"`
	Deprecated string `xml:"deprecated,attr"`
	Obsoletes  string `xml:"obsoletes,attr"`
	Content    struct {
		Type    string `xml:"type,attr"`
		Default string `xml:"default,attr"`
	} `xml:"content"`
}

// TestMetadataHasFenceVirshParameters: pcs accepts a fence_virsh device
// for fence_libvirt when every parameter is declared with fence_virsh's
// type, and renamed ones as fence-agents marks them (debug_file obsoletes
// debug, as in fence-agents 4.12).
func TestMetadataHasFenceVirshParameters(t *testing.T) {
	var out bytes.Buffer
	if code := newAgent(productionDeps()).Main([]string{"-o", "metadata"}, nil, &out, &out); code != 0 {
		t.Fatalf("metadata: exit %d", code)
	}
	var md struct {
		Params []metaParam `xml:"parameters>parameter"`
	}
	if err := xml.Unmarshal(out.Bytes(), &md); err != nil {
		t.Fatal(err)
	}
	byName := map[string]metaParam{}
	for _, p := range md.Params {
		byName[p.Name] = p
	}
	types := map[string]string{"identity_file": "string", "inet4_only": "boolean", "inet6_only": "boolean", "ipport": "integer",
		"ssh": "boolean", "secure": "boolean", "use_sudo": "boolean", "sudo": "boolean", "verbose_level": "integer",
		"retry_on": "integer", "login_timeout": "second", "shell_timeout": "second", "delay": "second", "missing_as_off": "boolean"}
	for _, name := range fenceVirshParameters {
		p, ok := byName[name]
		if !ok {
			t.Errorf("fence_virsh's %s is not declared", name)
			continue
		}
		if want, ok := types[name]; ok && p.Content.Type != want {
			t.Errorf("%s: type %s, want %s", name, p.Content.Type, want)
		}
	}
	for current, old := range map[string]string{"password": "passwd", "password_script": "passwd_script", "command_prompt": "cmd_prompt",
		"ssh": "secure", "use_sudo": "sudo", "username": "login", "ip": "ipaddr", "plug": "port", "debug_file": "debug"} {
		if byName[current].Obsoletes != old || byName[old].Deprecated != "1" {
			t.Errorf("%s should obsolete %s (deprecated): %+v %+v", current, old, byName[current], byName[old])
		}
	}
	if d := byName["login_timeout"].Content.Default; d != "5" {
		t.Errorf("login_timeout default %q, want fence_virsh's 5", d)
	}
}

// TestTypicalFenceVirshDevice: the parameters of a fence_virsh device, as
// pacemaker-fenced passes them, validate with nothing logged above info,
// and fence over qemu+ssh as that user with that key.
func TestTypicalFenceVirshDevice(t *testing.T) {
	home := isolatedHome(t)
	key := sshKeyFile(t, t.TempDir(), 0o600, "")
	stdin := "action=validate-all\nip=kvm1.example\nusername=root\nidentity_file=" + key + "\nssh=1\nplug=guest1\nnodename=node1\n"
	code, _, errs, dialled, _ := runWith(t, newFakeHypervisor(), nil, stdin)
	if code != 0 || errs != "" || dialled != "" {
		t.Fatalf("validate-all: exit %d, dialled %q:\n%s", code, dialled, errs)
	}
	stdin = strings.Replace(stdin, "action=validate-all", "action=off", 1)
	code, out, errs, dialled, opts := runWith(t, newFakeHypervisor(), nil, stdin)
	if code != 0 || out != "Success: Powered OFF\n" || dialled != "qemu+ssh://root@kvm1.example/system" {
		t.Fatalf("off: exit %d, dialled %q: %s%s", code, dialled, out, errs)
	}
	want := libvirt.SSHOptions{User: "root", KeyFiles: []string{key}}
	if !reflect.DeepEqual(opts.SSH, want) || opts.ConnectTimeout != 5*time.Second || opts.Network != "" {
		t.Fatalf("dial options %+v, want %+v and login_timeout's 5 s", opts, want)
	}
	_ = home
}

// TestEveryFenceVirshOption: a device with every fence_virsh option, old
// names included, validates; the options that mean nothing over RPC are
// named in one info line, with why.
func TestEveryFenceVirshOption(t *testing.T) {
	isolatedHome(t)
	key := sshKeyFile(t, t.TempDir(), 0o600, "pass phrase")
	debug := filepath.Join(t.TempDir(), "debug.log")
	lines := []string{"action=validate-all", "ipaddr=kvm1", "ipport=22", "login=root", "passwd=pass phrase", "identity_file=" + key,
		"secure=1", `ssh_options=-t '/bin/bash -c "PS1=\\[EXPECT\\]# /bin/bash --noprofile --norc"'`, "cmd_prompt=\\[EXPECT\\]#",
		"inet4_only=1", "login_timeout=7", "shell_timeout=3", "disable_timeout=true", "retry_on=1", "sudo=1", "sudo_path=/usr/bin/sudo",
		"ssh_path=/usr/bin/ssh", "plug_separator=,", "verbose_level=2", "verbose=1", "debug=" + debug, "separator=,", "delay=0",
		"power_timeout=20", "power_wait=0", "stonith_status_sleep=1", "missing_as_off=1", "port=guest1", "quiet=0"}
	code, _, errs, _, _ := runWith(t, newFakeHypervisor(), nil, strings.Join(lines, "\n")+"\n")
	if code != 0 || strings.Contains(errs, "WARNING") || strings.Contains(errs, "ERROR") {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	var notes []string
	for _, l := range strings.Split(errs, "\n") {
		if strings.Contains(l, "not used by fence_libvirt") {
			notes = append(notes, l)
		}
	}
	if len(notes) != 1 {
		t.Fatalf("want one note, got %d:\n%s", len(notes), errs)
	}
	for _, name := range []string{"command_prompt (there is no shell)", "shell_timeout", "use_sudo", "sudo_path", "ssh_path", "retry_on",
		"disable_timeout", "plug_separator", "verbose_level", "the remote command (no shell is run)", "-t"} {
		if !strings.Contains(notes[0], name) {
			t.Errorf("the note does not name %s: %s", name, notes[0])
		}
	}
	if strings.Contains(errs, "pass phrase") {
		t.Errorf("the password was logged:\n%s", errs)
	}
	if data, _ := os.ReadFile(debug); !strings.Contains(string(data), "not used by fence_libvirt") {
		t.Errorf("debug= (debug_file) was not written:\n%s", data)
	}

	lines[0] = "action=status"
	code, _, errs, dialled, opts := runWith(t, newFakeHypervisor(), nil, strings.Join(lines, "\n")+"\n")
	if code != 0 || dialled != "qemu+ssh://root@kvm1:22/system" {
		t.Fatalf("status: exit %d, dialled %q\n%s", code, dialled, errs)
	}
	if opts.SSH.Passphrase != "pass phrase" || opts.SSH.Password != "" || opts.Network != "tcp4" || opts.ConnectTimeout != 7*time.Second {
		t.Fatalf("dial options %+v", opts)
	}
}

// TestTransport: how ip, ssh, identity_file, password and uri choose the
// transport and the dial options.
func TestTransport(t *testing.T) {
	home := isolatedHome(t)
	key := sshKeyFile(t, t.TempDir(), 0o600, "")
	encrypted := sshKeyFile(t, t.TempDir(), 0o600, "pp")
	pki := t.TempDir()
	for _, f := range []string{"clientkey.pem", "clientcert.pem", "cacert.pem"} {
		filestest.WriteFile(t, filepath.Join(pki, f), "-----BEGIN X-----\n")
	}
	kh := filestest.WriteFile(t, filepath.Join(t.TempDir(), "kh"), "")
	for _, c := range []struct {
		name string
		args []string
		uri  string
		ssh  libvirt.SSHOptions
		net  string
	}{
		{"password", []string{"-a", "kvm1", "-l", "fence", "-p", "pw"}, "qemu+ssh://fence@kvm1/system",
			libvirt.SSHOptions{User: "fence", Password: "pw"}, ""},
		{"ssh key", []string{"-a", "kvm1", "-k", key}, "qemu+ssh://kvm1/system", libvirt.SSHOptions{KeyFiles: []string{key}}, ""},
		{"encrypted key", []string{"-a", "kvm1", "-k", encrypted, "-p", "pp", "-u", "2222"}, "qemu+ssh://kvm1:2222/system",
			libvirt.SSHOptions{KeyFiles: []string{encrypted}, Passphrase: "pp"}, ""},
		{"TLS folder", []string{"-a", "kvm1", "-k", pki, "-l", "root"}, "qemu+tls://kvm1/system?pkipath=" + strings.ReplaceAll(pki, "/", "%2F"),
			libvirt.SSHOptions{}, ""},
		{"ssh URI and key", []string{"--uri=qemu+ssh://admin@kvm1/system?socket=/s", "-k", key, "-l", "root"},
			"qemu+ssh://admin@kvm1/system?socket=/s", libvirt.SSHOptions{User: "root", KeyFiles: []string{key}}, ""},
		{"ssh_options", []string{"-a", "kvm1", "-k", key, "--ssh-options=-oStrictHostKeyChecking=accept-new -o UserKnownHostsFile=" + kh + " -6 -i " + encrypted, "-p", "pp"},
			"qemu+ssh://kvm1/system", libvirt.SSHOptions{KeyFiles: []string{key, encrypted}, Passphrase: "pp",
				HostKeys: libvirt.HostKeyAcceptNew, UserKnownHosts: []string{kh}}, "tcp6"},
		{"no checking", []string{"-a", "kvm1", "-x", "-p", "pw", "--ssh-options", "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=none", "-4"},
			"qemu+ssh://kvm1/system", libvirt.SSHOptions{Password: "pw", HostKeys: libvirt.HostKeyAcceptAny, UserKnownHosts: []string{"/dev/null"},
				GlobalKnownHosts: []string{"none"}}, "tcp4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs, dialled, opts := runWith(t, newFakeHypervisor(), append(c.args, "-o", "status", "-n", "guest1"), "")
			if c.uri == "" {
				c.uri = "qemu+tls://kvm1/system"
			}
			if code != 0 || dialled != c.uri {
				t.Fatalf("exit %d, dialled %q, want %q:\n%s", code, dialled, c.uri, errs)
			}
			if !reflect.DeepEqual(opts.SSH, c.ssh) || opts.Network != c.net {
				t.Fatalf("options %+v %q, want %+v %q", opts.SSH, opts.Network, c.ssh, c.net)
			}
		})
	}

	// ssh=0 (on stdin: on the command line -x is a flag) means TLS.
	code, _, errs, dialled, _ := runWith(t, newFakeHypervisor(), nil, "action=status\nport=guest1\nip=kvm1\nssh=0\npassword=pw\n")
	if code != 0 || dialled != "qemu+tls://kvm1/system" {
		t.Fatalf("ssh=0 with a password: exit %d, dialled %q\n%s", code, dialled, errs)
	}
	code, _, errs, _, _ = runWith(t, newFakeHypervisor(), nil, "action=status\nport=guest1\nip=kvm1\nsecure=0\nidentity_file="+key+"\n")
	if code != 1 || !strings.Contains(errs, "with ssh=0") {
		t.Fatalf("secure=0 with an ssh key: exit %d\n%s", code, errs)
	}

	// ssh=1 without key or password: the user's own keys, as ssh.
	if code, _, errs, _ := run(t, newFakeHypervisor(), "-a", "kvm1", "-x", "-o", "validate-all"); code != 1 || !strings.Contains(errs, "no ssh identity") {
		t.Fatalf("ssh without any identity: exit %d\n%s", code, errs)
	}
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	data, _ := os.ReadFile(key)
	os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519"), data, 0o600)
	if code, _, errs, _ := run(t, newFakeHypervisor(), "-a", "kvm1", "-x", "-o", "validate-all"); code != 0 {
		t.Fatalf("ssh with the user's key: exit %d\n%s", code, errs)
	}

	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-a", "kvm1", "-x", "-k", pki}, "but ssh=1"},
		{[]string{"--uri=qemu+tls://kvm1/system", "-k", key}, "is not an ssh URI"},
		{[]string{"--uri=qemu+ssh://kvm1/system", "-k", pki}, "is not a TLS URI"},
		{[]string{"--uri=qemu+ssh://kvm1/system?keyfile=/other", "-k", key}, "disagree"},
		{[]string{"-a", "kvm1", "-k", encrypted}, "encrypted, and no passphrase"},
		{[]string{"-a", "kvm1", "-k", encrypted, "-p", "wrong"}, "does not open it"},
		{[]string{"-a", "kvm1", "-k", key, "--ssh-options=-J jump"}, "jump host"},
		{[]string{"-a", "kvm1", "-k", key, "--ssh-options=-o ProxyCommand=nc %h %p"}, "ProxyCommand is not supported"},
		{[]string{"-a", "kvm1", "-k", key, "--ssh-options=-o StrictHostKeyChecking=maybe"}, "StrictHostKeyChecking"},
		{[]string{"-a", "kvm1", "-k", key, "--ssh-options=-Z"}, "-Z is not an ssh option"},
		{[]string{"-a", "kvm1", "-k", key, "--ssh-options=-o 'unterminated"}, "unterminated"},
		{[]string{"-a", "kvm1", "-k", key, "--ssh-options=-o UserKnownHostsFile=" + t.TempDir()}, "not a regular file (a directory)"},
		{[]string{"-a", "kvm1", "-p", "pw", "-l", "root", "-S", "/nonexistent/getpw"}, "password_script"},
	} {
		code, _, errs, dialled := run(t, newFakeHypervisor(), append(c.args, "-o", "status", "-n", "guest1")...)
		if code != 1 || !strings.Contains(errs, c.msg) || dialled != "" {
			t.Errorf("%q: exit %d, dialled %q, want an error saying %q:\n%s", c.args, code, dialled, c.msg, errs)
		}
	}
}

// TestOptionNotes: options given that the transport does not use are noted.
func TestOptionNotes(t *testing.T) {
	isolatedHome(t)
	pki := t.TempDir()
	for _, f := range []string{"clientkey.pem", "clientcert.pem", "cacert.pem"} {
		filestest.WriteFile(t, filepath.Join(pki, f), "-----BEGIN X-----\n")
	}
	code, _, errs, _ := run(t, newFakeHypervisor(), "-a", "kvm1", "-k", pki, "-p", "pw", "-l", "root", "-6", "--ssh-options=-o BatchMode=yes",
		"--use-sudo", "-o", "validate-all", "-v")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	for _, want := range []string{"password (libvirtd is not reached with ssh)", "ssh_options (libvirtd", "username (", "inet4_only, inet6_only (not applied to TLS)", "use_sudo ("} {
		if !strings.Contains(errs, want) {
			t.Errorf("no note %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, "pw") && strings.Contains(errs, "=pw") {
		t.Errorf("the password was logged:\n%s", errs)
	}
}

func TestKeyReadableByOthersIsAWarning(t *testing.T) {
	isolatedHome(t)
	key := sshKeyFile(t, t.TempDir(), 0o644, "")
	code, _, errs, _ := run(t, newFakeHypervisor(), "-a", "kvm1", "-k", key, "-o", "validate-all")
	if code != 0 || !strings.Contains(errs, "WARNING") || !strings.Contains(errs, "may be read by other users (mode 0644)") {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
}

func TestPasswordScript(t *testing.T) {
	isolatedHome(t)
	ok := script(t, `echo "s3cret pw"; echo`)
	withArgs := script(t, `[ "$1" = "a b" ] && [ "$2" = 'c"d' ] && echo "pw-$1"`)
	for _, c := range []struct {
		value, password string
	}{
		{ok, "s3cret pw"},
		{withArgs + ` "a b" 'c"d'`, "pw-a b"},
	} {
		code, _, errs, _, opts := runWith(t, newFakeHypervisor(), []string{"-a", "kvm1", "-S", c.value, "-o", "status", "-n", "guest1", "-v"}, "")
		if code != 0 || opts.SSH.Password != c.password {
			t.Fatalf("%q: exit %d, password %q\n%s", c.value, code, opts.SSH.Password, errs)
		}
		if strings.Contains(errs, c.password) {
			t.Fatalf("the password was logged:\n%s", errs)
		}
	}
	// The stdin key of fence-agents' older name.
	if code, _, errs, _, opts := runWith(t, newFakeHypervisor(), nil, "action=status\nport=guest1\nipaddr=kvm1\npasswd_script="+ok+"\n"); code != 0 || opts.SSH.Password != "s3cret pw" {
		t.Fatalf("passwd_script: exit %d\n%s", code, errs)
	}

	for _, c := range []struct {
		value, msg string
	}{
		{script(t, `echo "leaked"; echo "cannot reach the vault" >&2; exit 3`), "exit status 3: cannot reach the vault"},
		{script(t, `echo "pw-on-both"; echo "pw-on-both" >&2; exit 1`), "exit status 1"},
		{script(t, `exit 0`), "printed no password"},
		{script(t, `head -c 10000 /dev/zero | tr '\0' x`), "printed more than 4096 bytes"},
		{"cat /etc/hostname | head -1", "shell syntax \"|\""},
		{"echo $HOME", "shell syntax \"$\""},
		{`echo "$HOME"`, "shell expansion"},
		{"/nonexistent/getpw", "no such file"},
		{"''", "names no command"},
	} {
		code, _, errs, dialled := run(t, newFakeHypervisor(), "-a", "kvm1", "-S", c.value, "-o", "status", "-n", "guest1")
		if code != 1 || !strings.Contains(errs, c.msg) || dialled != "" {
			t.Errorf("%q: exit %d, want an error saying %q:\n%s", c.value, code, c.msg, errs)
		}
		if strings.Contains(errs, "leaked") || strings.Contains(errs, "pw-on-both") {
			t.Errorf("%q: the script's output was logged:\n%s", c.value, errs)
		}
	}

	// A script that hangs (and its child) is killed with the action's deadline.
	hang := script(t, `sleep 60 & sleep 60`)
	start := time.Now()
	code, _, errs, _ := run(t, newFakeHypervisor(), "-a", "kvm1", "-S", hang, "-o", "status", "-n", "guest1", "--power-timeout=1")
	if took := time.Since(start); code != 1 || took > 4*time.Second || !strings.Contains(errs, "did not finish in time") {
		t.Fatalf("a hanging script: exit %d after %s\n%s", code, took, errs)
	}
}

func TestSplitWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`a b  c`, []string{"a", "b", "c"}},
		{`'a b' "c d" e\ f`, []string{"a b", "c d", "e f"}},
		{`"a\"b" 'c"d' "\$x"`, []string{`a"b`, `c"d`, "$x"}},
		{`''`, []string{""}},
		{`-t '/bin/bash -c "PS1=\\[EXPECT\\]# /bin/bash"'`, []string{"-t", `/bin/bash -c "PS1=\\[EXPECT\\]# /bin/bash"`}},
		{"", nil},
	} {
		got, err := splitWords(c.in, true)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %q %v, want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{`a | b`, `a;b`, `a > f`, `$(x)`, "`x`", `a*`, `~/x`, `#c`, `"$x"`, `'open`, `"open`, `a\`} {
		if _, err := splitWords(in, true); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	if got, err := splitWords(`a|b $x`, false); err != nil || !reflect.DeepEqual(got, []string{"a|b", "$x"}) {
		t.Errorf("not strict: %q %v", got, err)
	}
}

func TestParseSSHOptions(t *testing.T) {
	o, err := parseSSHOptions(`-o "StrictHostKeyChecking no" -oUserKnownHostsFile="/a /b" -o GlobalKnownHostsFile=/g -qT -p 2222 -l bob -F /cfg ` +
		`-o BatchMode=yes -o IdentityFile=/k1 -i/k2 -o AddressFamily=inet6 -o ProxyJump=none -- uptime`)
	if err != nil {
		t.Fatal(err)
	}
	want := sshOptions{hostKeys: libvirt.HostKeyAcceptAny, userKnownHosts: []string{"/a", "/b"}, globalKnownHosts: []string{"/g"},
		keys: []string{"/k1", "/k2"}, network: "tcp6",
		ignored: []string{"-q", "-T", "-p (use ipport)", "-l (use username)", "-F (no ssh_config is read)", "-o BatchMode", "the remote command (no shell is run)"}}
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("got  %+v\nwant %+v", o, want)
	}
	if o, err := parseSSHOptions(""); err != nil || !reflect.DeepEqual(o, sshOptions{}) {
		t.Fatalf("empty: %+v %v", o, err)
	}
	for _, bad := range []string{"-o", "-o NoValue", "-J a@b", "-o ProxyCommand=ssh -W %h:%p j", "-o AddressFamily=ipx", "-%"} {
		if _, err := parseSSHOptions(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
