package libvirtguests

import (
	"context"
	"testing"
	"time"
)

// Listing guests on a running libvirtd is proven in the lab; here: a daemon
// that is not there gives an error within the context, and no connection.
func TestUnreachable(t *testing.T) {
	s := &Source{URI: "qemu:///system?socket=/nonexistent/libvirt-sock"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := s.Guests(ctx); err == nil {
		t.Fatal("listed guests of no libvirtd")
	}
	if s.conn != nil {
		t.Fatal("kept a failed connection")
	}
}
