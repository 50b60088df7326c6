package fencelibvirt

import (
	"testing"

	"github.com/kvmha/kvmha/internal/libvirt"
)

// FuzzBuildURI: whatever ip, uri, port and user hold, the result is a URI
// the libvirt adapter accepts, or a clear error; never a panic. An ssh
// URI built from ip logs in as user.
func FuzzBuildURI(f *testing.F) {
	for _, s := range []struct {
		uri, ip string
		port    int
		ssh     bool
		user    string
	}{{"", "kvm1", 0, false, ""}, {"", "fd00::1", 16514, false, ""}, {"qemu+tcp://h/system", "", 0, false, ""}, {"", "[::1]", 0, true, "root"},
		{"qemu:///system?socket=/x", "", 0, false, ""}, {"", "a b", 0, false, ""}, {"", "kvm1", 2222, true, "fence@corp"},
		{"qemu+ssh://u@h/system?keyfile=/k", "", 0, true, "other"}, {"", "10.0.0.1", 22, true, "a:b/c?d"}} {
		f.Add(s.uri, s.ip, s.port, s.ssh, s.user)
	}
	f.Fuzz(func(t *testing.T, uri, ip string, port int, overSSH bool, user string) {
		if port < 0 || port > 65535 {
			port = 0
		}
		out, err := buildURI(uri, ip, port, overSSH, user, "")
		if err != nil {
			return
		}
		if err := libvirt.CheckURI(out); err != nil {
			t.Fatalf("(%q, %q, %d) built %q which the adapter refuses: %v", uri, ip, port, out, err)
		}
		if uri == "" && ip != "" && overSSH != libvirt.IsSSH(out) {
			t.Fatalf("(%q, %d, ssh %v) built %q", ip, port, overSSH, out)
		}
	})
}
