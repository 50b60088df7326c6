package rbd

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kvmha/kvmha/agents/rbd/cephapi"
	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/ocf"
	"github.com/kvmha/kvmha/internal/twin"
)

// systemPath is searched for programs after $PATH: Pacemaker's may be short.
var systemPath = []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// childEnv is the whole environment of the programs the agent runs: no
// OCF_RESKEY_* (parameters), no CEPH_ARGS, nothing inherited.
var childEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}

func hostSystem(openCeph cephapi.OpenFunc) system {
	if openCeph == nil {
		openCeph = cephNotBuiltIn
	}
	return system{
		tree:           krbd.Host(),
		openCeph:       openCeph,
		modprobe:       modprobe,
		lookPath:       lookPath,
		runNBD:         runNBD,
		checkNode:      krbd.CheckNode,
		readFirstBlock: krbd.ReadFirstBlock,
		signal:         syscall.Kill,
		poll:           100 * time.Millisecond,
		holderRecheck:  2 * time.Second,
		nbdKillAfter:   5 * time.Second,
	}
}

// errNoCeph: this build neither links Ceph nor carries its Ceph-linked twin.
var errNoCeph = ocf.Errorf(ocf.ErrInstalled, "this build of the agent has no Ceph support (build it with make build)")

func cephNotBuiltIn(context.Context, cephapi.Access) (cephapi.Session, error) { return nil, errNoCeph }

// ExecCephTwin replaces the process with the agent's Ceph-linked twin (image,
// embedded by make build) when the action needs Ceph: start only. It returns
// when the action does not, when there is no twin, or when exec failed; a
// start then fails saying this build has no Ceph support.
func ExecCephTwin(args, environ []string, image []byte) {
	if len(args) >= 2 && args[1] == "start" && len(image) > 0 {
		_ = twin.Exec("rbd-ceph", image, args, environ) // returns only on failure
	}
}

// lookPath finds a program in $PATH, then in the system folders.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range systemPath {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in $PATH or %s", name, strings.Join(systemPath, ", "))
}

// modprobe loads a module (start only; monitor never runs anything).
func modprobe(ctx context.Context, module string) error {
	path, err := lookPath("modprobe")
	if err != nil {
		return err
	}
	out, err := run(ctx, path, "-q", "--", module)
	if err != nil {
		return fmt.Errorf("modprobe %s: %v%s", module, err, suffix(out))
	}
	return nil
}

// runNBD runs "rbd-nbd map ...": the parent exits once its daemon has
// connected the device; the daemon (a child of the parent, reparented)
// keeps running. Its stdout (the device name) is not read: the device is
// found in sysfs.
func runNBD(ctx context.Context, argv []string) (string, error) {
	return run(ctx, argv[0], argv[1:]...)
}

// run runs a program with the minimal environment and returns what it
// wrote to stderr. Stderr is an unlinked temporary file, not a pipe: a
// daemon the program leaves behind (rbd-nbd's) may keep it open, and
// waiting for a pipe's end would wait for the daemon.
func run(ctx context.Context, path string, args ...string) (string, error) {
	errFile, err := os.CreateTemp("", "kvmha-rbd-stderr-")
	if err != nil {
		return "", err
	}
	_ = os.Remove(errFile.Name())
	defer errFile.Close()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = childEnv
	cmd.Dir = "/"
	cmd.Stderr = errFile
	runErr := cmd.Run()
	var out []byte
	if _, err := errFile.Seek(0, io.SeekStart); err == nil {
		out, _ = io.ReadAll(io.LimitReader(errFile, 16<<10))
	}
	return string(out), runErr
}

func suffix(s string) string {
	if s = lastLines(s, 2, 300); s != "" {
		return ": " + s
	}
	return ""
}
