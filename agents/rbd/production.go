package rbd

import (
	"context"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/kvmha/kvmha/agents/rbd/cephapi"
	"github.com/kvmha/kvmha/internal/hostcmd"
	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/ocf"
)

// productionDeps is this host.
func productionDeps(openCeph cephapi.OpenFunc) deps {
	if openCeph == nil {
		openCeph = cephNotBuiltIn
	}
	return deps{
		tree:           krbd.Host(),
		openCeph:       openCeph,
		modprobe:       func(ctx context.Context, module string) error { return hostcmd.LoadModules(ctx, module) },
		lookPath:       hostcmd.Lookup,
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

// runNBD runs "rbd-nbd map ...": the parent exits once its daemon has
// connected the device; the daemon (a child of the parent, reparented)
// keeps running. Its stdout (the device name) is not read: the device is
// found in sysfs.
func runNBD(ctx context.Context, argv []string) (string, error) {
	return run(ctx, argv[0], argv[1:]...)
}

// run runs a program with hostcmd's environment (no OCF_RESKEY_* parameters, no
// CEPH_ARGS, nothing inherited) and returns what it wrote to stderr. Stderr is an unlinked temporary file, not a pipe: a
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
	cmd.Env = hostcmd.Env()
	cmd.Dir = "/"
	cmd.Stderr = errFile
	runErr := cmd.Run()
	var out []byte
	if _, err := errFile.Seek(0, io.SeekStart); err == nil {
		out, _ = io.ReadAll(io.LimitReader(errFile, 16<<10))
	}
	return string(out), runErr
}
