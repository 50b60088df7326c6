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

func TestCall(t *testing.T) {
	v, done, err := Call(context.Background(), func() (int, error) { return 7, errors.New("seven") })
	if v != 7 || !done || err == nil || err.Error() != "seven" {
		t.Fatalf("a finished call: %d %v %v", v, done, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	release := make(chan struct{})
	defer close(release)
	start := time.Now()
	v, done, err = Call(ctx, func() (int, error) { <-release; return 7, nil })
	if v != 0 || done || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("a blocked call: %d %v %v after %s", v, done, err, time.Since(start))
	}
}

func TestRun(t *testing.T) {
	if done, err := Run(context.Background(), func() error { return errors.New("failed") }); !done || err == nil {
		t.Fatalf("%v %v", done, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	release := make(chan struct{})
	defer close(release)
	if done, err := Run(ctx, func() error { <-release; return nil }); done || !errors.Is(err, context.Canceled) {
		t.Fatalf("%v %v", done, err)
	}
}
