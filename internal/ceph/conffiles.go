package ceph

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/files"
)

// librados reads the configuration file and the keyring itself, whole and
// without a deadline: a path that names /dev/zero grows the process until
// the OOM killer ends it, a FIFO or a hung mount blocks it in the kernel.
// Reading them first, bounded in size and time, turns each of those into
// an error at once; librados then reads a file known to be small and
// readable.

// Bounds of the files a Config names, far above any real one.
const (
	MaxConfSize    = 1 << 20
	MaxKeyringSize = 64 << 10
	// fileWait bounds one check: a local file reads in microseconds, one
	// on a hung mount never.
	fileWait = 2 * time.Second
)

// CheckConfFile checks that path is a configuration file librados can
// read: a regular file of at most MaxConfSize bytes that reads within a
// short time (and ctx). The error names the path, clipped, and why.
func CheckConfFile(ctx context.Context, path string) error {
	_, err := readBounded(ctx, path, MaxConfSize)
	return err
}

// CheckKeyringFile is CheckConfFile for a keyring (at most MaxKeyringSize
// bytes, not empty). Its content is read but never returned or quoted.
func CheckKeyringFile(ctx context.Context, path string) error {
	data, err := readBounded(ctx, path, MaxKeyringSize)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return fmt.Errorf("%s is empty", agentlog.Clip(path))
	}
	return nil
}

func readBounded(ctx context.Context, path string, limit int64) ([]byte, error) {
	if path == "" {
		return nil, errors.New("no path given")
	}
	ctx, cancel := context.WithTimeout(ctx, fileWait)
	defer cancel()
	data, err := files.Read(ctx, path, limit)
	if err != nil {
		return nil, fileError(path, err)
	}
	return data, nil
}

// fileError says why a file cannot be used with its path clipped: a
// parameter can hold a path of any length and any bytes.
func fileError(path string, err error) error {
	return fmt.Errorf("%s: %w", agentlog.Clip(path), files.Cause(err))
}
