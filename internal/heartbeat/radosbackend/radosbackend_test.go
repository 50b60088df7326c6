package radosbackend

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/files/filestest"
	"github.com/kvmha/kvmha/internal/heartbeat"
)

// The backend against a real cluster is proven by the lab tests; here: the
// opener's routing and the bounded, rate-limited reconnection.
func TestOpenerAndFailedSessions(t *testing.T) {
	open := Opener(ceph.Config{ConfPath: "/nonexistent/ceph.conf", User: "hb"}, time.Second)
	ctx := context.Background()
	fs, _ := heartbeat.ParseBackend("file:///tmp")
	if b, err := open(ctx, fs); err != nil || b.URI() != "file:///tmp" {
		t.Fatal(b, err)
	}
	rs, _ := heartbeat.ParseBackend("rados://rbd/hb")
	b, err := open(ctx, rs)
	if err != nil || b.URI() != "rados://rbd/hb" {
		t.Fatal(b, err)
	}
	start := time.Now()
	if err := b.Register(ctx, "node1"); err == nil {
		t.Fatal("registered without a cluster")
	}
	// Within reconnectEvery every call fails at once with the same error.
	for _, call := range []func() error{
		func() error { return b.WriteRecord(ctx, "node1", []byte("x")) },
		func() error { _, err := b.ReadRecord(ctx, "node1"); return err },
		func() error { return b.WriteMessage(ctx, "node1", []byte("x")) },
		func() error { _, err := b.ReadMessage(ctx, "node1"); return err },
		func() error { _, err := b.Hosts(ctx); return err },
	} {
		if err := call(); err == nil {
			t.Fatal("a call worked without a cluster")
		}
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("failed calls took %s", took)
	}
	if a := Addrs([]heartbeat.Backend{b})(ctx); a != nil {
		t.Fatal(a)
	}
	if b.Close() != nil {
		t.Fatal("close")
	}
}

// A Ceph configuration file or keyring that is a FIFO or a device is refused at once:
// librados would block on it for ever (or read /dev/zero until memory runs out).
func TestHostileCephFiles(t *testing.T) {
	fifo := filestest.NewHostile(t).FIFO
	rs, _ := heartbeat.ParseBackend("rados://rbd/hb")
	for _, cfg := range []ceph.Config{{ConfPath: fifo}, {ConfPath: "/dev/zero"}, {Keyring: fifo}} {
		b, _ := Opener(cfg, 5*time.Second)(context.Background(), rs)
		start := time.Now()
		_, err := b.Hosts(context.Background())
		if !errors.Is(err, files.ErrNotRegular) || time.Since(start) > time.Second {
			t.Errorf("%+v: %v after %s", cfg, err, time.Since(start))
		}
	}
}
