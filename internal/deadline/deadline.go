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
