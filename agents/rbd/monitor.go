package rbd

import (
	"context"
	"fmt"

	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/ocf"
)

// monitor: running when exactly one device maps the spec, its node is the
// right block device, and (nbd) its rbd-nbd is alive with a non-empty
// device; not running when no device maps it. Depth 10 also reads the
// first block. Everything comes from sysfs and procfs.
func (a *agent) monitor(ctx context.Context, req *ocf.Request) error {
	if a.unusable != nil {
		return a.monitorRecorded(req)
	}
	s, ms, err := a.settingsAndMappings(req)
	if err != nil {
		return err
	}
	switch len(ms) {
	case 0:
		return ocf.Exit(ocf.NotRunning)
	case 1:
	default:
		return ocf.Errorf(ocf.ErrGeneric, "%s is mapped %d times on this node: %s", s.describe(), len(ms), describeAll(ms))
	}
	m := ms[0]
	bd, err := a.check(m)
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "%s: %v", s.describe(), err)
	}
	a.keepLink(req, s.spec, m)
	if req.CheckLevel() >= 10 {
		if err := a.readFirstBlock(ctx, a.node(m), bd.Size); err != nil {
			return ocf.Errorf(ocf.ErrGeneric, "%s on %s: %v", s.describe(), m, err)
		}
	}
	req.Log.Debugf("%s is mapped on %s", s.describe(), m)
	return nil
}

// check verifies a mapping's block device and its node.
func (a *agent) check(m mapping) (krbd.BlockDevice, error) {
	bd, err := a.tree.ReadBlockDevice(m.name())
	if err != nil {
		return krbd.BlockDevice{}, err
	}
	if m.driver == driverKRBD {
		// The bus and the block layer must agree on the device.
		if want := (krbd.DevNum{Major: m.rbd.Major, Minor: m.rbd.Minor}); bd.Num != want {
			return krbd.BlockDevice{}, fmt.Errorf("/sys/block/%s is %s, the rbd bus says %s", bd.Name, bd.Num, want)
		}
	} else if bd.Size == 0 {
		return krbd.BlockDevice{}, fmt.Errorf("%s has size 0: rbd-nbd (pid %d) no longer serves it", m, m.nbd.Server.PID)
	}
	if err := a.checkNode(a.node(m), bd.Num); err != nil {
		return krbd.BlockDevice{}, err
	}
	return bd, nil
}

// keepLink keeps the stable name; a failure is logged, not fatal: the
// device works without it.
func (a *agent) keepLink(req *ocf.Request, spec krbd.Spec, m mapping) {
	changed, err := a.tree.EnsureLink(spec, a.node(m))
	switch {
	case err != nil:
		req.Log.Warnf("cannot link %s to %s: %v", a.tree.LinkPath(spec), a.node(m), err)
	case changed:
		req.Log.Infof("linked %s to %s", a.tree.LinkPath(spec), a.node(m))
	}
}

// monitorRecorded is a monitor whose parameters cannot be used (a.unusable says why) on a
// node whose record says start mapped the image: the recorded device is judged, by the
// record alone. Running there means running here, whatever the parameters say.
func (a *agent) monitorRecorded(req *ocf.Request) error {
	var rec record
	ok, err := req.LoadRecord(&rec)
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot tell whether the image start mapped is mapped: %v, and %v", err, a.unusable)
	}
	if !ok {
		return a.unusable
	}
	spec := rec.spec()
	if err := spec.Check(); err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "this node's record of the mapping (%s) names no image: %v", req.RecordPath(), err)
	}
	ms, err := a.recordedMappings(req, rec)
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "%s (recorded on %s): %v", spec, orUnknown(rec.Device), err)
	}
	switch len(ms) {
	case 0:
		return ocf.Exit(ocf.NotRunning)
	case 1:
	default:
		return ocf.Errorf(ocf.ErrGeneric, "%s is mapped %d times on this node: %s", spec, len(ms), describeAll(ms))
	}
	if _, err := a.check(ms[0]); err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "%s: %v", spec, err)
	}
	req.Log.Warnf("%v; %s is mapped on %s, as this node's record says start mapped it", a.unusable, spec, ms[0])
	return nil
}

// monitorRefused is Agent.MonitorRecorded: the runtime refused a parameter's value before
// validate ran; the recorded device is judged all the same.
func (a *agent) monitorRefused(_ context.Context, req *ocf.Request) error {
	if a.unusable == nil {
		a.unusable = ocf.Errorf(ocf.ErrConfigured, "a parameter has a value of the wrong type")
	}
	return a.monitorRecorded(req)
}
