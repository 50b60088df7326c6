package files

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/kvmha/kvmha/internal/deadline"
)

// Stat is os.Stat given up when ctx ends: a stat on a hung NFS or OCFS2 mount blocks in the
// kernel, where no context reaches, so it runs in a goroutine that is abandoned then (the
// process ends soon after). The error is then a *fs.PathError wrapping ErrTimedOut.
func Stat(ctx context.Context, path string) (fs.FileInfo, error) {
	info, done, err := deadline.Call(ctx, func() (fs.FileInfo, error) { return os.Stat(path) })
	if !done {
		return nil, &fs.PathError{Op: "stat", Path: path, Err: ErrTimedOut}
	}
	return info, err
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
