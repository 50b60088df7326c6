package heartbeat_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/heartbeattest"
)

func TestGuardAbandonsHungCalls(t *testing.T) {
	v := heartbeattest.NewMemoryStore("mem://a").View()
	release := make(chan struct{})
	// A hang that outlives its context, like a read blocked in D state.
	g := heartbeat.Guard(&blockingBackend{Backend: v, release: release})
	for i := 0; i < heartbeat.MaxInFlight; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		start := time.Now()
		if _, err := g.ReadRecord(ctx, "n"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("call %d: %v", i, err)
		}
		cancel()
		if time.Since(start) > time.Second {
			t.Fatal("the guard did not return at the deadline")
		}
	}
	if _, err := g.Hosts(context.Background()); !errors.Is(err, heartbeat.ErrBusy) {
		t.Fatalf("with %d calls hung: %v, want busy", heartbeat.MaxInFlight, err)
	}
	if g.Close() != nil {
		t.Fatal("close")
	}
	close(release)
	waitUntil(t, time.Second, func() bool { _, err := g.Hosts(context.Background()); return err == nil })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.WriteRecord(ctx, "n", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	if g.URI() != "mem://a" || g.Close() != nil {
		t.Fatal("uri/close")
	}
}

// blockingBackend blocks ReadRecord until release closes, ignoring ctx.
type blockingBackend struct {
	heartbeat.Backend
	release chan struct{}
}

func (b *blockingBackend) ReadRecord(context.Context, string) ([]byte, error) {
	<-b.release
	return nil, heartbeat.ErrNotFound
}

type panicBackend struct{ heartbeat.Backend }

func (panicBackend) Hosts(context.Context) ([]string, error) { panic("boom") }

func TestGuardRecoversPanics(t *testing.T) {
	g := heartbeat.Guard(panicBackend{heartbeattest.NewMemoryStore("m").View()})
	if _, err := g.Hosts(context.Background()); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("%v", err)
	}
}

func waitUntil(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReadOf(t *testing.T) {
	ctx := context.Background()
	store := heartbeattest.NewMemoryStore("m")
	v := store.View()
	if _, err := heartbeat.ReadRecordOf(ctx, v, "node1"); !errors.Is(err, heartbeat.ErrNotFound) {
		t.Fatal(err)
	}
	if m, err := heartbeat.ReadMessageOf(ctx, v, "node1"); m != nil || err != nil {
		t.Fatal(m, err)
	}
	data, _ := heartbeat.EncodeRecord(heartbeat.SampleRecord())
	store.PutRecord("node2", data)
	if _, err := heartbeat.ReadRecordOf(ctx, v, "node2"); !errors.Is(err, heartbeat.ErrBadFrame) {
		t.Fatalf("record of node1 in node2's slot: %v", err)
	}
	store.PutRecord("node3", make([]byte, 32))
	if _, err := heartbeat.ReadRecordOf(ctx, v, "node3"); !errors.Is(err, heartbeat.ErrNotFound) {
		t.Fatalf("zero slot: %v", err)
	}
	v.WriteMessage(ctx, "node1", make([]byte, 32))
	if m, err := heartbeat.ReadMessageOf(ctx, v, "node1"); m != nil || err != nil {
		t.Fatal(m, err)
	}
	v.WriteMessage(ctx, "node1", []byte("garbage-garbage-garbage"))
	if _, err := heartbeat.ReadMessageOf(ctx, v, "node1"); !errors.Is(err, heartbeat.ErrBadFrame) {
		t.Fatal(err)
	}
	v.Fail(errors.New("eio"), heartbeattest.OpReadMessage)
	if _, err := heartbeat.ReadMessageOf(ctx, v, "node1"); err == nil {
		t.Fatal("error lost")
	}
}

func TestMemoryBackend(t *testing.T) {
	heartbeat.ExerciseBackend(t, heartbeattest.NewMemoryStore("m").View())
}
