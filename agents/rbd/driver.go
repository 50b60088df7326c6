package rbd

import (
	"context"
	"errors"

	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/ocf"
)

// chooseDriver picks krbd or nbd for an image with the given features and
// makes sure the chosen one is there (the rbd module loaded, rbd-nbd
// installed).
func (a *agent) chooseDriver(ctx context.Context, req *ocf.Request, s settings, features krbd.Features) (string, error) {
	switch s.driver {
	case driverKRBD:
		if err := a.loadRBD(ctx); err != nil {
			return "", ocf.Errorf(ocf.ErrInstalled, "driver=krbd: %v", err)
		}
		err := a.tree.Unsupported(s.spec, features)
		var ue *krbd.UnsupportedError
		switch {
		case errors.As(err, &ue):
			return "", ocf.Errorf(ocf.ErrInstalled, "%v", ue)
		case errors.Is(err, krbd.ErrFeaturesUnknown):
			req.Log.Warnf("%v: the kernel will say at map time whether it supports %s", err, features)
		case err != nil:
			return "", ocf.Errorf(ocf.ErrGeneric, "%v", err)
		}
		return driverKRBD, nil
	case driverNBD:
		if _, err := a.lookPath("rbd-nbd"); err != nil {
			return "", ocf.Errorf(ocf.ErrInstalled, "driver=nbd needs rbd-nbd: %v", err)
		}
		return driverNBD, nil
	}

	// auto
	_, nbdErr := a.lookPath("rbd-nbd")
	if err := a.loadRBD(ctx); err != nil {
		if nbdErr != nil {
			return "", ocf.Errorf(ocf.ErrInstalled, "neither driver is available: kernel rbd: %v; rbd-nbd: %v", err, nbdErr)
		}
		req.Log.Infof("driver=auto: kernel rbd unavailable (%v): using rbd-nbd", err)
		return driverNBD, nil
	}
	err := a.tree.Unsupported(s.spec, features)
	var ue *krbd.UnsupportedError
	switch {
	case err == nil:
		return driverKRBD, nil
	case errors.As(err, &ue) && nbdErr == nil:
		req.Log.Infof("driver=auto: the kernel lacks the image feature(s) %s: using rbd-nbd", ue.Unsupported)
		return driverNBD, nil
	case errors.As(err, &ue):
		req.Log.Errorf("driver=auto cannot fall back to rbd-nbd: %v", nbdErr)
		return "", ocf.Errorf(ocf.ErrInstalled, "%v", ue)
	case nbdErr == nil:
		req.Log.Infof("driver=auto: %v: using rbd-nbd, which maps every feature", err)
		return driverNBD, nil
	}
	req.Log.Warnf("driver=auto: %v, and rbd-nbd is not installed: trying the kernel", err)
	return driverKRBD, nil
}

// loadRBD loads the rbd module unless it is loaded.
func (a *agent) loadRBD(ctx context.Context) error {
	if a.tree.RBDLoaded() {
		return nil
	}
	if err := a.modprobe(ctx, "rbd"); err != nil {
		return err
	}
	if !a.tree.RBDLoaded() {
		return errors.New("modprobe rbd succeeded but /sys/bus/rbd does not exist")
	}
	return nil
}
