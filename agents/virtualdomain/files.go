package virtualdomain

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kvmha/kvmha/internal/files"
)

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// statWithin is files.Stat given at most fileWait(ctx).
func statWithin(ctx context.Context, path string) (fs.FileInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, fileWait(ctx))
	defer cancel()
	return files.Stat(ctx, path)
}

// resolveLink is the file a path names, through symlinks; the path itself
// when it is none (or gone).
func resolveLink(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	return path
}
