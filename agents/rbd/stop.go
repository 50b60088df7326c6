package rbd

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"

	"github.com/kvmha/kvmha/internal/deadline"
	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/ocf"
)

// stop unmaps every device that maps the spec. A device in use (mounted,
// held, open) stops the stop with a reason, unless force_unmap is set.
// Nothing mapped is success. stop reads sysfs and procfs and writes to the
// rbd bus or signals rbd-nbd; it never needs the cluster. Unusable
// parameters end it with ErrConfigured, and the runtime then unmaps what
// this node's record names (stopRecorded), or succeeds without a record.
func (a *agent) stop(ctx context.Context, req *ocf.Request) error {
	s, ms, err := a.settingsAndMappings(req)
	if err != nil {
		return err
	}
	var nodes []string
	for _, m := range ms {
		if err := a.unmap(ctx, req, s, m); err != nil {
			return err
		}
		nodes = append(nodes, a.node(m))
		req.Log.Infof("unmapped %s from %s", s.describe(), m)
	}
	if left, err := a.mappings(s.spec); err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "%v", err)
	} else if len(left) > 0 {
		return ocf.Errorf(ocf.ErrGeneric, "%s is still mapped on %s", s.describe(), describeAll(left))
	}
	if err := a.tree.RemoveLink(s.spec, nodes...); err != nil {
		req.Log.Warnf("cannot remove %s: %v", a.tree.LinkPath(s.spec), err)
	}
	return a.stopOtherRecorded(ctx, req, s)
}

// stopOtherRecorded finishes a stop by parameters with this node's record: when start
// mapped another image than the parameters name now (they changed since), that device is
// unmapped too; then the record goes. A record that cannot be read is dropped with a
// warning: the parameters are valid and said what to stop.
func (a *agent) stopOtherRecorded(ctx context.Context, req *ocf.Request, s settings) error {
	var rec record
	ok, err := req.LoadRecord(&rec)
	switch {
	case err != nil:
		req.Log.Warnf("%v; dropping it", err)
	case ok && rec.spec() != s.spec && rec.spec().Check() == nil:
		req.Log.Infof("start mapped %s, the parameters now name %s: unmapping %s too", rec.spec(), s.spec, rec.spec())
		if err := a.unmapRecorded(ctx, req, rec); err != nil {
			return err
		}
	}
	if err := req.DropRecord(); err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot remove this node's record of the mapping (%s): %v", req.RecordPath(), err)
	}
	return nil
}

// unmap removes one device.
func (a *agent) unmap(ctx context.Context, req *ocf.Request, s settings, m mapping) error {
	bd, err := a.tree.ReadBlockDevice(m.name())
	if errors.Is(err, os.ErrNotExist) {
		return nil // gone meanwhile
	}
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "%s on %s: %v", s.describe(), m, err)
	}
	// krbd refuses to unmap an open device by itself, so only mounts and
	// holders are looked for first (for a clear reason); nbd does not
	// know, so every process is looked at.
	skip := []int{os.Getpid()} // a descriptor the agent inherited is no user
	if m.driver == driverNBD {
		skip = append(skip, m.nbd.Server.PID)
	}
	users, err := a.tree.UsersOf(bd, m.driver == driverNBD, skip...)
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "%s on %s: %v", s.describe(), m, err)
	}
	if users.InUse() {
		if !s.force {
			return ocf.Errorf(ocf.ErrGeneric, "%s on %s is in use: %s; release it or set force_unmap=true",
				s.describe(), m, users)
		}
		req.Log.Warnf("force_unmap: unmapping %s from %s although it is %s", s.describe(), m, users)
	}
	if m.driver == driverKRBD {
		return a.unmapKRBD(ctx, s, m, bd)
	}
	return a.unmapNBD(ctx, req, s, m)
}

func (a *agent) unmapKRBD(ctx context.Context, s settings, m mapping, bd krbd.BlockDevice) error {
	err := a.tree.Unmap(ctx, m.rbd.ID, s.force)
	var ke *krbd.KernelError
	if errors.As(err, &ke) && ke.Busy() {
		users, uerr := a.tree.UsersOf(bd, true, os.Getpid())
		if uerr == nil && users.InUse() {
			return ocf.Errorf(ocf.ErrGeneric, "%s on %s is in use: %s; release it or set force_unmap=true",
				s.describe(), m, users)
		}
		return ocf.Errorf(ocf.ErrGeneric, "%s on %s is open; release it or set force_unmap=true", s.describe(), m)
	}
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "%v", err)
	}
	return nil
}

// unmapNBD asks rbd-nbd to disconnect (SIGTERM: it disconnects the device
// and exits) and waits until it is gone. A forced stop sends SIGKILL when
// SIGTERM was not enough.
func (a *agent) unmapNBD(ctx context.Context, req *ocf.Request, s settings, m mapping) error {
	pid := m.nbd.Server.PID
	if err := a.signal(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return ocf.Errorf(ocf.ErrGeneric, "signalling rbd-nbd (pid %d): %v", pid, err)
	}
	termSent := time.Now()
	killed := false
	for {
		gone, err := a.nbdGone(m)
		if err != nil {
			return ocf.Errorf(ocf.ErrGeneric, "%v", err)
		}
		if gone {
			return nil
		}
		if s.force && !killed && time.Since(termSent) > a.nbdKillAfter {
			req.Log.Warnf("force_unmap: rbd-nbd (pid %d) did not exit on SIGTERM: sending SIGKILL", pid)
			_ = a.signal(pid, syscall.SIGKILL)
			killed = true
		}
		if err := deadline.Sleep(ctx, a.poll); err != nil {
			return ocf.Errorf(ocf.ErrGeneric, "rbd-nbd (pid %d) did not disconnect %s from %s in time",
				pid, s.describe(), m)
		}
	}
}

// nbdGone: the server process exited and the device is no longer
// connected to it.
func (a *agent) nbdGone(m mapping) (bool, error) {
	if a.tree.ProcessAlive(m.nbd.Server.PID) {
		return false, nil
	}
	devs, err := a.tree.NBDDevices()
	if err != nil {
		return false, err
	}
	for _, d := range devs {
		if d == m.nbd.Device {
			return false, nil
		}
	}
	return true, nil
}
