package krbd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Tree says where the kernel's file systems are: /sys, /proc and /dev on a
// real host, folders of a fake tree in tests.
type Tree struct {
	Sys, Proc, Dev string
	// Control, when set, performs the writes to the rbd bus's control
	// files (add_single_major, remove_single_major) instead of writing
	// the files: the seam where tests put an emulation of the kernel
	// (package krbdtest). A returned syscall.Errno reads as the kernel's.
	Control func(path string, text []byte) error
}

// Host is the running system's tree.
func Host() Tree { return Tree{Sys: "/sys", Proc: "/proc", Dev: "/dev"} }

// maxAttrLen bounds what is read from one sysfs or procfs file: sysfs
// attributes are at most a page, and the proc files read here are small.
const maxAttrLen = 64 << 10

// readAttr returns a file's content without its trailing newline. Sysfs
// attributes end in one newline; more than maxAttrLen bytes is an error,
// not a truncation, because a half-read value would be misread.
func readAttr(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAttrLen+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxAttrLen {
		return "", fmt.Errorf("%s: more than %d bytes", path, maxAttrLen)
	}
	return strings.TrimSuffix(string(data), "\n"), nil
}

// readUint reads a decimal attribute.
func readUint(path string, bits int) (uint64, error) {
	s, err := readAttr(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", path, agentlog.Clip(s))
	}
	return n, nil
}

// listDir returns the names in a folder, none when it does not exist.
func listDir(path string) ([]string, error) {
	entries, err := os.ReadDir(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}

// exists reports whether path exists; errors other than "does not exist"
// count as existing, so a permission problem is not mistaken for absence.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, os.ErrNotExist)
}

// vanished reports whether err means a sysfs or procfs entry went away
// while it was being read (a device unmapped, a process exited).
func vanished(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

func join(elem ...string) string { return filepath.Join(elem...) }
