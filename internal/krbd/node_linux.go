package krbd

import (
	"context"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/kvmha/kvmha/internal/deadline"
)

// CheckNode verifies that path is a block device node with the given
// number: devtmpfs makes /dev/rbdN and /dev/nbdN, and something else
// (a stale file, a node for another device) must not pass for them.
func CheckNode(path string, want DevNum) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return fmt.Errorf("%s is not a block device", path)
	}
	got := DevNum{unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))}
	if got != want {
		return fmt.Errorf("%s is device %s, not %s", path, got, want)
	}
	return nil
}

// firstBlockSize is how much ReadFirstBlock reads: one page, a multiple of
// every logical block size a block device has.
const firstBlockSize = 4096

// ReadFirstBlock reads the first 4 KiB (or all of a smaller device) of a
// block device of size bytes with O_DIRECT, so the answer comes from the
// cluster, not the page cache. The read cannot be interrupted (a device
// whose cluster is gone blocks in the kernel); when ctx ends first it is
// abandoned and an error returned.
func ReadFirstBlock(ctx context.Context, path string, size uint64) error {
	want := uint64(firstBlockSize)
	if size < want {
		want = size &^ 511 // O_DIRECT reads whole sectors
	}
	if want == 0 {
		return nil
	}
	done, err := deadline.Run(ctx, func() error { return readFirstBlock(path, int(want)) })
	if !done {
		return fmt.Errorf("reading the first block of %s: no answer in time: %w", path, err)
	}
	return err
}

func readFirstBlock(path string, want int) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer unix.Close(fd)
	// O_DIRECT needs a buffer aligned to the logical block size.
	raw := make([]byte, 2*firstBlockSize)
	off := int(uintptr(unsafe.Pointer(&raw[0])) & (firstBlockSize - 1))
	if off != 0 {
		off = firstBlockSize - off
	}
	buf := raw[off : off+want]
	n, err := unix.Pread(fd, buf, 0)
	if err != nil {
		return fmt.Errorf("reading the first block of %s: %w", path, err)
	}
	if n != want {
		return fmt.Errorf("reading the first block of %s: got %d bytes of %d", path, n, want)
	}
	return nil
}
