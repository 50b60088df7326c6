// Package rbd is ocf:kvmha:rbd: it maps an RBD image on this node with the
// kernel rbd driver or rbd-nbd, and keeps two nodes from mapping one image.
// It is a superset of Ceph's ocf:ceph:rbd (same parameters, same meaning).
//
// What each action touches:
//
//   - monitor reads sysfs and procfs only (package krbd): no Ceph session,
//     no process. The resource runs when exactly one device maps the
//     pool/namespace/image/snapshot: an rbd bus device, or an nbd device
//     whose rbd-nbd process's command line names it. Depth 10 reads the
//     first block with O_DIRECT.
//   - start asks Ceph (in the agent's Ceph-linked twin, see internal/twin)
//     for the image's features and its holders, picks the driver, then
//     maps: one write to /sys/bus/rbd/add_single_major, or "rbd-nbd map"
//     started with hostcmd's environment (PATH and LC_ALL only).
//   - stop looks for mounts, stacked devices and (nbd) open descriptors,
//     then writes to remove_single_major or sends rbd-nbd SIGTERM. It never
//     needs the cluster. Start keeps a record of the device it mapped (in
//     HA_RSCTMP), so that a stop whose parameters became unusable after
//     start still unmaps exactly that device (see record.go).
//
// The cephx key: the Ceph-linked twin and rbd-nbd read the keyring or key file
// themselves (their command lines name the file); only the kernel driver
// needs the key itself, which the agent reads from the file into memory,
// writes into the one sysfs map request and wipes. Messages show the
// request with the secret hidden.
//
// Without udev nobody makes /dev/rbd/<pool>/<image>: start makes it,
// monitor repairs it, stop removes it.
package rbd

import (
	"context"
	"syscall"
	"time"

	"github.com/kvmha/kvmha/agents/rbd/cephapi"
	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/ocf"
)

// deps is everything the agent touches on the host; tests fill it with fakes.
type deps struct {
	tree     krbd.Tree
	openCeph cephapi.OpenFunc
	// modprobe loads a kernel module.
	modprobe func(ctx context.Context, module string) error
	// lookPath finds a program (rbd-nbd).
	lookPath func(name string) (string, error)
	// runNBD runs "rbd-nbd map ..." until its parent process exits (the
	// daemon it forks keeps serving the device); stderr is its error text.
	runNBD func(ctx context.Context, argv []string) (stderr string, err error)
	// checkNode checks a device node; readFirstBlock does the depth-10 read.
	checkNode      func(path string, n krbd.DevNum) error
	readFirstBlock func(ctx context.Context, path string, size uint64) error
	signal         func(pid int, sig syscall.Signal) error
	// poll is how often waits look again; holderRecheck how often start
	// asks Ceph again whether a holder let go; nbdKillAfter how long a
	// forced stop waits for rbd-nbd after SIGTERM before SIGKILL.
	poll, holderRecheck, nbdKillAfter time.Duration
}

type agent struct {
	deps
	// unusable is why a probe's parameters cannot be used, set by validate when this
	// node's record says start mapped something: the probe then judges that device
	// (monitorRecorded) rather than answer "not running", which would get the image
	// mapped on another node too.
	unusable error
}

// New returns ocf:kvmha:rbd wired to the host and, when openCeph is not nil, Ceph (a
// build without it hands the actions NeedsCeph names to its Ceph-linked twin).
func New(openCeph cephapi.OpenFunc) *ocf.Agent { return newAgent(productionDeps(openCeph)) }

// newAgent returns the agent on d.
func newAgent(d deps) *ocf.Agent {
	a := &agent{deps: d}
	return &ocf.Agent{
		Name:      "rbd",
		Version:   "1.0",
		ShortDesc: "Maps an RBD image with the kernel rbd driver or rbd-nbd",
		LongDesc: "Maps a Ceph RBD image (or a snapshot of it) on this node as a block device, " +
			"/dev/rbdN (kernel rbd driver) or /dev/nbdN (rbd-nbd), with the stable name " +
			"/dev/rbd/<pool>/[<namespace>/]<image>[@<snap>]. A superset of ocf:ceph:rbd: the same parameters, " +
			"plus the driver choice, refusing an image another live client holds, map options, " +
			"read-only maps and a stop that will not pull a device from under a mounted file system. " +
			"Monitor and stop read sysfs and procfs only; monitor at depth 10 reads the first block.",
		Params: params,
		Timeouts: map[string]time.Duration{
			ocf.ActionStart:       60 * time.Second,
			ocf.ActionStop:        30 * time.Second,
			ocf.ActionMonitor:     20 * time.Second,
			ocf.ActionValidateAll: 20 * time.Second,
		},
		Monitors: []ocf.MonitorOp{
			{Interval: 10 * time.Second, Depth: 0},
			{Interval: 60 * time.Second, Depth: 10},
		},
		Start:        a.start,
		Stop:         a.stop,
		StopRecorded: a.stopRecorded,
		// A monitor whose parameters the runtime refuses (a value of the wrong type)
		// judges the recorded device too, as one validate refuses does.
		MonitorRecorded: a.monitorRefused,
		Monitor:         a.monitor,
		Validate:        a.validate,
	}
}

// validate checks the parameters; for validate-all and start also the
// configuration and key files, and for validate-all that rbd-nbd is there
// when driver=nbd asks for it (start finds out itself). Monitor does not
// look at files: a device mapped here stays mapped whatever happened to
// them, and a probe must not call it stopped. For the same reason a probe
// with unusable parameters on a node whose record says start mapped the
// image goes on, to judge the recorded device (monitorRecorded).
func (a *agent) validate(ctx context.Context, req *ocf.Request) error {
	s, err := readSettings(req)
	if err != nil {
		if req.IsProbe() && req.HasRecord() {
			a.unusable = err
			return nil
		}
		return err
	}
	switch req.Action() {
	case ocf.ActionValidateAll:
		if s.driver == driverNBD {
			if _, err := a.lookPath("rbd-nbd"); err != nil {
				return ocf.Errorf(ocf.ErrInstalled, "driver=nbd needs rbd-nbd: %v", err)
			}
		}
		return s.checkFiles(ctx)
	case ocf.ActionStart:
		return s.checkFiles(ctx)
	}
	return nil
}
