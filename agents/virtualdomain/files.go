package virtualdomain

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kvmha/kvmha/internal/files"
)

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// statWithin is os.Stat that gives up after fileWait(ctx): a stat on a hung
// NFS or OCFS2 mount blocks in the kernel, where no context reaches, so it
// runs in a goroutine that is abandoned (the process ends soon after).
func statWithin(ctx context.Context, path string) (fs.FileInfo, error) {
	type result struct {
		info fs.FileInfo
		err  error
	}
	done := make(chan result, 1) // buffered: an abandoned stat must not block on send
	go func() {
		info, err := os.Stat(path)
		done <- result{info, err}
	}()
	timer := time.NewTimer(fileWait(ctx))
	defer timer.Stop()
	select {
	case r := <-done:
		return r.info, r.err
	case <-timer.C:
	case <-ctx.Done():
	}
	return nil, &fs.PathError{Op: "stat", Path: path, Err: files.ErrTimedOut}
}

// resolveLink is the file a path names, through symlinks; the path itself
// when it is none (or gone).
func resolveLink(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	return path
}
