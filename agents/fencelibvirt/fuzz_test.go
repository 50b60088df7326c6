package fencelibvirt

import (
	"testing"

	"github.com/kvmha/kvmha/internal/libvirt"
)

// FuzzBuildURI: whatever ip, uri and port hold, the result is a URI the
// libvirt adapter accepts, or a clear error; never a panic.
func FuzzBuildURI(f *testing.F) {
	for _, s := range []struct {
		uri, ip string
		port    int
	}{{"", "kvm1", 0}, {"", "fd00::1", 16514}, {"qemu+tcp://h/system", "", 0}, {"", "[::1]", 0}, {"qemu:///system?socket=/x", "", 0}, {"", "a b", 0}} {
		f.Add(s.uri, s.ip, s.port)
	}
	f.Fuzz(func(t *testing.T, uri, ip string, port int) {
		if port < 0 || port > 65535 {
			port = 0
		}
		out, err := buildURI(uri, ip, port, "")
		if err != nil {
			return
		}
		if err := libvirt.CheckURI(out); err != nil {
			t.Fatalf("(%q, %q, %d) built %q which the adapter refuses: %v", uri, ip, port, out, err)
		}
	})
}
