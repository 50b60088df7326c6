package cephlinked

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// Each monitor address says what it did when dialled: one that listens, one that refuses.
func TestProbeMonitors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	listening := l.Addr().String()

	got := strings.Join(probeMonitors(context.Background(), listening+","+closedAddr, time.Second), "; ")
	want := listening + ": accepts connections; " + closedAddr + ": connection refused"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	// a mon_host this package cannot read says nothing rather than something wrong
	if got := probeMonitors(context.Background(), "[[[", time.Second); len(got) > 1 {
		t.Fatalf("%q", got)
	}
}
