package krbd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"syscall"

	"github.com/kvmha/kvmha/internal/deadline"
)

// Map maps an image through add_single_major and returns the new device.
// The write blocks in the kernel until the map succeeds or fails; it cannot
// be interrupted, so when ctx ends first Map returns and leaves the write
// running: a map that completes later is an ordinary mapped device, found
// (and unmapped by stop) like any other. Bound the kernel's own waits with
// the mount_timeout option (and lock_timeout with exclusive).
func (t Tree) Map(ctx context.Context, req MapRequest) (Device, error) {
	text, err := req.encode()
	if err != nil {
		return Device{}, err
	}
	before, err := t.DeviceIDs()
	if err != nil {
		clear(text)
		return Device{}, err
	}
	add, _ := t.controlFiles()
	done, err := deadline.Run(ctx, func() error {
		defer clear(text)
		return t.writeControl(add, text)
	})
	if !done {
		return Device{}, fmt.Errorf("mapping %s: the kernel did not answer in time: %w", req.Spec, err)
	}
	if err != nil {
		return Device{}, &KernelError{Op: "map " + req.Spec.String(), Err: err}
	}
	ids, err := t.DeviceIDs()
	if err != nil {
		return Device{}, err
	}
	// The new device is the one that was not there before and maps the
	// spec; the highest such id if several maps ran at once.
	for i := len(ids) - 1; i >= 0; i-- {
		if slices.Contains(before, ids[i]) {
			continue
		}
		d, err := t.ReadDevice(ids[i])
		if err == nil && d.Spec == req.Spec {
			return d, nil
		}
	}
	return Device{}, fmt.Errorf("mapping %s: the kernel accepted the request but no new device maps it", req.Spec)
}

// Unmap removes a device through remove_single_major. force fails the I/O
// in flight instead of refusing an open device (Linux 4.9+). Like Map, the
// write cannot be interrupted and is abandoned when ctx ends. Unmapping a
// device that is already gone is no error.
func (t Tree) Unmap(ctx context.Context, id int, force bool) error {
	_, remove := t.controlFiles()
	text := strconv.Itoa(id)
	if force {
		text += " force"
	}
	done, err := deadline.Run(ctx, func() error { return t.writeControl(remove, []byte(text)) })
	if !done {
		return fmt.Errorf("unmapping rbd%d: the kernel did not answer in time: %w", id, err)
	}
	if errors.Is(err, syscall.ENOENT) && !exists(t.bus("devices", strconv.Itoa(id))) {
		return nil
	}
	if err != nil {
		return &KernelError{Op: "unmap rbd" + strconv.Itoa(id), Err: err}
	}
	return nil
}

// writeControl writes text to a bus file in one write call, without
// creating the file: a missing bus file means the module is not loaded.
func (t Tree) writeControl(path string, text []byte) error {
	if t.Control != nil {
		return t.Control(path, text)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, werr := f.Write(text)
	cerr := f.Close()
	if werr != nil {
		return werr
	}
	return cerr
}

// KernelError is a map or unmap the kernel refused.
type KernelError struct {
	Op  string
	Err error
}

func (e *KernelError) Unwrap() error { return e.Err }

func (e *KernelError) Error() string {
	var errno syscall.Errno
	if !errors.As(e.Err, &errno) {
		return e.Op + ": " + e.Err.Error()
	}
	return fmt.Sprintf("%s: the kernel answered %s (%s)", e.Op, errnoName(errno), explainErrno(errno))
}

// Busy reports whether the kernel refused to unmap an open device.
func (e *KernelError) Busy() bool { return errors.Is(e.Err, syscall.EBUSY) }

// explainErrno says what the rbd driver means by an errno, for map and
// unmap; details are in the kernel log.
func explainErrno(e syscall.Errno) string {
	switch e {
	case syscall.ENOENT:
		return "no such pool, namespace, image, snapshot or device"
	case syscall.ENXIO:
		return "the image has features this kernel does not support"
	case syscall.EINVAL:
		return "invalid request: a map option or name the kernel does not accept"
	case syscall.EACCES, syscall.EPERM:
		return "permission denied: check the cephx user's key and caps"
	case syscall.ETIMEDOUT, syscall.EIO:
		return "the monitors or OSDs did not answer: check the monitor addresses and the network"
	case syscall.EBUSY:
		return "the device is open"
	case syscall.EROFS:
		return "the exclusive lock could not be taken: another client holds it"
	case syscall.ENOMEM:
		return "out of memory"
	}
	return e.Error()
}

func errnoName(e syscall.Errno) string {
	names := map[syscall.Errno]string{
		syscall.ENOENT: "ENOENT", syscall.ENXIO: "ENXIO", syscall.EINVAL: "EINVAL",
		syscall.EACCES: "EACCES", syscall.EPERM: "EPERM", syscall.ETIMEDOUT: "ETIMEDOUT",
		syscall.EIO: "EIO", syscall.EBUSY: "EBUSY", syscall.EROFS: "EROFS", syscall.ENOMEM: "ENOMEM",
	}
	if n, ok := names[e]; ok {
		return n
	}
	return "errno " + strconv.Itoa(int(e))
}
