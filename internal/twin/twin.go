// Package twin lets an agent that needs Ceph for a few actions only carry
// its Ceph-linked build inside itself and run it for those actions.
//
// Why: loading librados and librbd is most of what a Ceph-linked process
// costs before main runs. Measured with perf stat (meta-data, 200 runs;
// Debian 12, librados 16.2.15, 2 vCPUs): rbd 10 ms static, 42 ms
// Ceph-linked; VirtualDomain 13 ms and 56 ms. That is 30 to 45 ms, nearly
// all of it CPU, per process, and several times more on a loaded node,
// while a monitor runs every few seconds on every node and must cost a few
// milliseconds. Only start (and VirtualDomain's stop and depth-20 monitor)
// needs Ceph. So such an agent X is built twice from the same sources (make
// build, target twin-X):
//
//   - cmd/X/X-ceph, with -tags kvmha_ceph: links go-ceph through the
//     agent's cephlinked package;
//   - build/X, static and without cgo, with -tags kvmha_embed: compiles
//     against the agent's cephapi package only (plain Go types, and an
//     OpenFunc it leaves nil) and embeds X-ceph (go:embed; git ignores the
//     file).
//
// For the actions the agent names (its NeedsCeph), the static build execs
// the embedded one with Dispatch: same pid, arguments and environment,
// nothing forked and nothing written to disk, and the agent stays one
// self-contained file. Those actions pay for copying the twin into memory
// besides (rbd start with invalid parameters: 67 ms, against 48 ms run
// from the file). A plain go build embeds no twin and links no Ceph: the
// actions that need Ceph then fail saying this build has no Ceph support.
package twin

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Twin is an agent's Ceph-linked build as the static build that carries it
// sees it.
type Twin struct {
	// Name is the twin's file name, e.g. "rbd-ceph"; the memory file is
	// named so, which is what /proc/PID/exe then shows.
	Name string
	// Image is the embedded twin; nil in a build that embeds none.
	Image []byte
	// Needs says whether an action must run in the twin; getenv reads the
	// invocation's environment. The agent declares it (its NeedsCeph).
	Needs func(action string, getenv func(string) string) bool
	// Override, when not "", is an environment variable that may name a
	// twin on disk to exec instead of Image, for tests of a build that
	// embeds none.
	Override string
}

// Dispatch replaces the process with the twin when the invocation needs
// it: args as the process got them (args[0] the program, args[1] the
// action), environ its environment. It returns when the action does not
// need the twin, when there is none, or when exec failed; the action then
// runs in this build, and one that needs Ceph fails saying this build has
// no Ceph support. Only the static build calls it: the twin itself has the
// Ceph code, and would exec an Override again.
func Dispatch(t Twin, args, environ []string) {
	action := ""
	if len(args) >= 2 {
		action = args[1]
	}
	getenv := func(key string) string { return lookupEnv(environ, key) }
	if !t.Needs(action, getenv) {
		return
	}
	if t.Override != "" {
		if path := getenv(t.Override); path != "" {
			_ = syscall.Exec(path, args, environ) // returns only on failure
			return
		}
	}
	if len(t.Image) > 0 {
		_ = execImage(t.Name, t.Image, args, environ) // returns only on failure
	}
}

// lookupEnv is os.Getenv over an explicit environment (first value wins).
func lookupEnv(environ []string, key string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// execImage replaces the process with the ELF image held in memory,
// passing args (args[0] included) and environ unchanged; the pid stays the
// same. It returns only on failure. The image goes into a sealed memfd,
// exec'ed by its /proc/self/fd path; the descriptor is close-on-exec, which
// is safe for an ELF image: the kernel has opened it before it closes
// descriptors, so the twin starts with no descriptor more than the caller
// had.
func execImage(name string, image []byte, args, environ []string) error {
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
