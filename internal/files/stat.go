package files

import (
	"context"
	"errors"
	"io/fs"
	"os"
)

// Stat is os.Stat given up when ctx ends: a stat on a hung NFS or OCFS2 mount blocks in the
// kernel, where no context reaches, so it runs in a goroutine that is abandoned then (the
// process ends soon after). The error is then a *fs.PathError wrapping ErrTimedOut.
func Stat(ctx context.Context, path string) (fs.FileInfo, error) {
	type result struct {
		info fs.FileInfo
		err  error
	}
	done := make(chan result, 1) // buffered: an abandoned stat must not block on send
	go func() {
		info, err := os.Stat(path)
		done <- result{info, err}
	}()
	select {
	case r := <-done:
		return r.info, r.err
	case <-ctx.Done():
		return nil, &fs.PathError{Op: "stat", Path: path, Err: ErrTimedOut}
	}
}

// Cause drops the path a *fs.PathError repeats, for messages that quote the path once
// themselves (bounded).
func Cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
