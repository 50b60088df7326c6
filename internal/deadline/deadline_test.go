package deadline

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRemaining(t *testing.T) {
	if r := Remaining(context.Background()); r != time.Minute {
		t.Fatalf("without a deadline: %s", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if r := Remaining(ctx); r <= time.Second || r > 2*time.Second {
		t.Fatalf("with 2 s: %s", r)
	}
}

func TestSleep(t *testing.T) {
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := Sleep(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Minute); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("%v after %s", err, time.Since(start))
	}
	if err := Sleep(ctx, -time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ended context, no wait: %v", err)
	}
}
