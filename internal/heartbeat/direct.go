package heartbeat

import (
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Direct I/O: records go to shared storage without the page cache, so a
// reader on another host sees what the writer wrote, not what its own cache
// kept, and a write has reached the device (or the NFS server) when it
// returns. O_DIRECT needs buffers, sizes and offsets aligned to the logical
// block size; 4 KiB suits every device in use.
const directAlign = 4096

// alignedBuf returns a zeroed buffer of n bytes whose address is a multiple
// of directAlign.
func alignedBuf(n int) []byte {
	raw := make([]byte, n+directAlign)
	off := int(uintptr(unsafe.Pointer(&raw[0])) & (directAlign - 1))
	if off != 0 {
		off = directAlign - off
	}
	return raw[off : off+n : off+n]
}

// padded copies frame into an aligned buffer of size bytes.
func padded(frame []byte, size int) ([]byte, error) {
	if len(frame) > size {
		return nil, fmt.Errorf("frame of %d bytes exceeds its slot of %d", len(frame), size)
	}
	buf := alignedBuf(size)
	copy(buf, frame)
	return buf, nil
}

// openDirect opens path with O_DIRECT|O_DSYNC added, falling back to plain
// synchronous I/O where the filesystem refuses O_DIRECT (tmpfs, some FUSE).
// direct says which one it got.
func openDirect(path string, flag int, perm os.FileMode) (f *os.File, direct bool, err error) {
	f, err = os.OpenFile(path, flag|unix.O_DIRECT|unix.O_DSYNC, perm)
	if err == nil {
		return f, true, nil
	}
	if !errors.Is(err, unix.EINVAL) {
		return nil, false, err
	}
	f, err = os.OpenFile(path, flag|unix.O_DSYNC, perm)
	return f, false, err
}

// readFull reads len(buf) bytes at off, accepting a short file: it returns
// how many bytes there were.
func readFull(f *os.File, buf []byte, off int64) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := f.ReadAt(buf[n:], off+int64(n))
		n += m
		if err == io.EOF || (err == nil && m == 0) {
			break
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
