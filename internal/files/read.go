package files

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/kvmha/kvmha/internal/deadline"
)

// Errors a read reports, wrapped with the path; test them with errors.Is.
var (
	// ErrTooLarge: the content is larger than the caller's limit.
	ErrTooLarge = errors.New("too large")
	// ErrNotRegular: the path is a directory, a FIFO, a socket or a device.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTimedOut: the read did not finish before the context ended (a hung mount, a FIFO,
	// a stdin nobody closes).
	ErrTimedOut = errors.New("read did not finish in time")
)

// Read returns the content of the regular file at path, at most limit bytes, or an error
// naming the path. It gives up when ctx ends, leaving a blocked open or read behind in a
// goroutine: the caller's process is about to end anyway, and nothing else can undo a read
// the kernel is stuck in.
func Read(ctx context.Context, path string, limit int64) ([]byte, error) {
	data, done, err := deadline.Call(ctx, func() ([]byte, error) { return readRegular(path, limit) })
	if !done {
		return nil, &fs.PathError{Op: "read", Path: path, Err: ErrTimedOut}
	}
	return data, err
}

// readRegular opens without blocking (O_NONBLOCK: opening a FIFO would wait for a writer),
// refuses anything but a regular file, and reads at most limit+1 bytes to tell "exactly
// limit" from "more".
func readRegular(path string, limit int64) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, Kind(st.Mode()))}
	}
	if st.Size() > limit {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, st.Size(), limit)}
	}
	// Sized from the stat (plus one byte to see the end, and room for a file still
	// growing): io.ReadAll's doubling would hold about twice the file at its peak, which
	// for a 57 MB CIB was a third of kvmha capacity's memory.
	buf := bytes.NewBuffer(make([]byte, 0, min(st.Size(), limit)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	if int64(len(data)) > limit {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)}
	}
	return data, nil
}

// ReadStream reads r (stdin, a pipe) to its end, at most limit bytes, giving up when ctx
// ends; what names the stream in errors.
func ReadStream(ctx context.Context, r io.Reader, what string, limit int64) ([]byte, error) {
	data, done, err := deadline.Call(ctx, func() ([]byte, error) { return io.ReadAll(io.LimitReader(r, limit+1)) })
	switch {
	case !done:
		return nil, fmt.Errorf("%s: %w (not closed by its writer)", what, ErrTimedOut)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", what, err)
	case int64(len(data)) > limit:
		return nil, fmt.Errorf("%s: %w: more than %d bytes", what, ErrTooLarge, limit)
	}
	return data, nil
}

// Kind names a file's type for messages: "a directory", "a FIFO", "a regular file"...
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m.IsRegular():
		return "a regular file"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "a special file"
}
