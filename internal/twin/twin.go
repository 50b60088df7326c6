// Package twin runs an agent's Ceph-linked twin that the agent carries
// inside itself.
//
// Why: a process linked with librados and librbd spends 15-50 ms loading
// them before main runs, while an agent's monitor must cost a few
// milliseconds. So an agent that needs Ceph for a few actions only is built
// twice from the same sources: the Ceph-linked build is embedded (go:embed)
// into a static, cgo-free build, and for the actions that need Ceph the
// outer build execs the embedded one. The agent stays one self-contained
// file; nothing is forked and nothing is written to disk.
package twin

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exec replaces the process with the ELF image held in memory, passing args
// (args[0] included) and environ unchanged; the pid stays the same. It
// returns only on failure. The image goes into a sealed memfd, exec'ed by its
// /proc/self/fd path; the descriptor is close-on-exec, which is safe for an
// ELF image: the kernel has opened it before it closes descriptors, so the
// twin starts with no descriptor more than the caller had.
func Exec(name string, image []byte, args, environ []string) error {
	if len(image) == 0 {
		return fmt.Errorf("no embedded %s in this build", name)
	}
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return fmt.Errorf("memfd for %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if _, err := f.Write(image); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return fmt.Errorf("seal %s: %w", name, err)
	}
	err = syscall.Exec(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), args, environ)
	return fmt.Errorf("exec %s: %w", name, err)
}
