package libvirt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		uri  string
		want endpoint
	}{
		{"qemu:///system?socket=/tmp/s", endpoint{network: "unix", address: "/tmp/s", name: "qemu:///system"}},
		{"qemu+unix:///system?socket=/tmp/s", endpoint{network: "unix", address: "/tmp/s", name: "qemu:///system"}},
		{"qemu+tcp://node2/system", endpoint{network: "tcp", address: "node2:16509", host: "node2", port: "16509", name: "qemu:///system"}},
		{"qemu+tcp://10.0.0.1:1234/system", endpoint{network: "tcp", address: "10.0.0.1:1234", host: "10.0.0.1", port: "1234", name: "qemu:///system"}},
		{"qemu+tcp://[fd00::1]/system", endpoint{network: "tcp", address: "[fd00::1]:16509", host: "fd00::1", port: "16509", name: "qemu:///system"}},
		{"qemu://node2/system", endpoint{network: "tcp", address: "node2:16514", host: "node2", port: "16514", tls: true, name: "qemu:///system"}},
		{"qemu+tls://node2/system?pkipath=/pki&no_verify=1", endpoint{network: "tcp", address: "node2:16514", host: "node2", port: "16514", tls: true, pkiPath: "/pki", noVerify: true, name: "qemu:///system"}},
		{"qemu+tcp://node2/system?name=qemu:///session", endpoint{network: "tcp", address: "node2:16509", host: "node2", port: "16509", name: "qemu:///session"}},
		{"xen+tcp://h/", endpoint{network: "tcp", address: "h:16509", host: "h", port: "16509", name: "xen:///"}},
		{"qemu+ssh://root@kvm1/system", endpoint{network: "tcp", address: "kvm1:22", host: "kvm1", port: "22", ssh: "ssh",
			user: "root", remoteSocket: "/run/libvirt/libvirt-sock", name: "qemu:///system"}},
		{"qemu+ssh://fence@[fd00::1]:2222/system?keyfile=/k&known_hosts=/kh&no_verify=1&socket=/s&netcat=/bin/nc",
			endpoint{network: "tcp", address: "[fd00::1]:2222", host: "fd00::1", port: "2222", ssh: "ssh", user: "fence",
				keyFile: "/k", knownHosts: "/kh", noVerify: true, remoteSocket: "/s", socketGiven: true, netcat: "/bin/nc", name: "qemu:///system"}},
		{"qemu+libssh2://kvm1/system?proxy=native&mode=direct", endpoint{network: "tcp", address: "kvm1:22", host: "kvm1", port: "22", ssh: "libssh2",
			remoteSocket: "/run/libvirt/libvirt-sock", name: "qemu:///system"}},
		{"qemu+ssh://u@h/session?socket=/run/user/1000/libvirt/virtqemud-sock", endpoint{network: "tcp", address: "h:22", host: "h", port: "22",
			ssh: "ssh", user: "u", remoteSocket: "/run/user/1000/libvirt/virtqemud-sock", socketGiven: true, name: "qemu:///session"}},
	}
	for _, tt := range tests {
		got, err := parseURI(tt.uri)
		if err != nil || got != tt.want {
			t.Errorf("%s:\n got %+v, %v\nwant %+v", tt.uri, got, err, tt.want)
		}
	}
}

func TestParseURIRejects(t *testing.T) {
	for _, uri := range []string{"", "qemu", "qemu+ext://node2/system", "qemu+tcp:///system", "qemu+unix://host/system",
		"qemu+tls://h/system?no_verify=yes", "%zz", "/dev/null",
		// ssh: no host, a password (URIs are logged), a bad port, a session
		// socket this side cannot know, a relative socket, a bad no_verify.
		"qemu+ssh:///system", "qemu+ssh://root:secret@h/system", "qemu+ssh://h:0/system", "qemu+ssh://h:99999/system",
		"qemu+ssh://h/session", "qemu+ssh://h/system?socket=rel/sock", "qemu+ssh://h/system?no_verify=yes"} {
		if _, err := parseURI(uri); !errors.Is(err, ErrUnsupportedURI) {
			t.Errorf("%q: want ErrUnsupportedURI, got %v", uri, err)
		}
	}
}

func TestDefaultSocketPrefersModularDaemon(t *testing.T) {
	if got := defaultSocket("", "/system"); got != "/run/libvirt/libvirt-sock" {
		t.Errorf("no driver: %s", got)
	}
	dir := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", dir)
	os.MkdirAll(filepath.Join(dir, "libvirt"), 0o755)
	if got := defaultSocket("qemu", "/session"); got != filepath.Join(dir, "libvirt", "libvirt-sock") {
		t.Errorf("session: %s", got)
	}
	os.WriteFile(filepath.Join(dir, "libvirt", "virtqemud-sock"), nil, 0o644)
	if got := defaultSocket("qemu", "/session"); got != filepath.Join(dir, "libvirt", "virtqemud-sock") {
		t.Errorf("modular session: %s", got)
	}
}

func TestDefaultURI(t *testing.T) {
	t.Setenv("LIBVIRT_DEFAULT_URI", "qemu+tcp://x/system")
	if got := DefaultURI(); got != "qemu+tcp://x/system" {
		t.Errorf("env: %s", got)
	}
	conf := filepath.Join(t.TempDir(), "libvirt.conf")
	os.WriteFile(conf, []byte("# comment\nuri_aliases = [ ]\n uri_default = \"qemu:///session\"\n"), 0o644)
	if got := uriDefaultFromConf(conf); got != "qemu:///session" {
		t.Errorf("conf: %q", got)
	}
	if got := uriDefaultFromConf(filepath.Join(t.TempDir(), "none")); got != "" {
		t.Errorf("missing conf: %q", got)
	}
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{"qemu:///system", "qemu+tcp://[::1]:99/system?name=x", "qemu+tls://h/s?no_verify=1", "%", "a+b+c://",
		"qemu+ssh://root@kvm1/system", "qemu+ssh://u@[fd00::1]:2222/system?keyfile=/k&known_hosts=/kh&no_verify=1&socket=/s",
		"qemu+libssh2://h/system?netcat=nc", "qemu+ssh://u:p@h/system", "qemu+ssh://h/session?socket=/x", "qemu+ssh://%41@h:22/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ep, err := parseURI(s)
		if err == nil && (ep.network == "" || ep.address == "" || ep.name == "") {
			t.Fatalf("%q: incomplete endpoint %+v", s, ep)
		}
		if err == nil && ep.ssh != "" && (ep.host == "" || ep.port == "" || !strings.HasPrefix(ep.remoteSocket, "/")) {
			t.Fatalf("%q: incomplete ssh endpoint %+v", s, ep)
		}
	})
}
