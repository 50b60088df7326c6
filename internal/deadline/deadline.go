// Package deadline measures and waits out time within a context: every action of an
// agent runs under its deadline, and its waits must end with it.
package deadline

import (
	"context"
	"time"
)

// none is what Remaining answers for a context without a deadline. The runtimes give
// every action one; this only bounds a caller that has none.
const none = time.Minute

// Remaining is the time left before ctx's deadline (a minute without one).
func Remaining(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d)
	}
	return none
}

// Sleep waits d or until ctx ends, whichever comes first: nil after d, else ctx's error
// (at once for a d of zero or less).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Call runs fn in a goroutine of its own and waits for it or for ctx, for calls no
// context reaches: a system call blocked in the kernel (a hung NFS or OCFS2 mount, a dead
// SAN path, an RBD device whose cluster is gone) or a binding that takes no context. When
// ctx ends first, Call returns at once with done false, the zero T and ctx's error: fn goes
// on, and its result, whenever it comes, is dropped without blocking its goroutine (the
// process is about to end, or its caller cleans up after it; nothing else can undo a call
// the kernel is stuck in). A result that is there when ctx ends is taken. Otherwise done
// is true and v and err are fn's.
//
// A panic in fn is not recovered here: a caller into code that may panic recovers in fn,
// saying whose fault it was.
func Call[T any](ctx context.Context, fn func() (T, error)) (v T, done bool, err error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1) // buffered: an abandoned fn must not block on send
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, true, r.err
	case <-ctx.Done():
		select {
		case r := <-ch:
			return r.v, true, r.err
		default:
		}
		return v, false, ctx.Err()
	}
}

// Run is Call for an fn without a result.
func Run(ctx context.Context, fn func() error) (done bool, err error) {
	_, done, err = Call(ctx, func() (struct{}, error) { return struct{}{}, fn() })
	return done, err
}
