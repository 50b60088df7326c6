package rbd

import (
	"context"
	"strconv"
	"time"

	"github.com/kvmha/kvmha/agents/rbd/cephapi"
	"github.com/kvmha/kvmha/internal/deadline"
	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/ocf"
)

// kernelReserve is left between the kernel's own timeout and the action's
// deadline, to report the failure.
const kernelReserve = 2 * time.Second

// mapKRBD maps through /sys/bus/rbd/add_single_major. The key goes into
// that one write and nowhere else.
func (a *agent) mapKRBD(ctx context.Context, req *ocf.Request, s settings, sess cephapi.Session, key keySource) (mapping, error) {
	secret, err := a.kernelKey(ctx, req, s, key, sess)
	if err != nil {
		return mapping{}, err
	}
	defer secret.Wipe()

	mons, err := sess.Monitors()
	if err != nil {
		return mapping{}, ocf.Errorf(ocf.ErrGeneric, "the monitors' addresses: %v", err)
	}
	kmons := make([]krbd.Monitor, 0, len(mons))
	for _, m := range mons {
		kmons = append(kmons, krbd.Monitor{Msgr1: m.Msgr1, Msgr2: m.Msgr2})
	}
	list, addMode, err := krbd.KernelMonitors(kmons, s.options)
	if err != nil {
		return mapping{}, ocf.Errorf(ocf.ErrConfigured, "monitors for the kernel client: %v", err)
	}

	opts := append([]string(nil), s.options...)
	if addMode != "" {
		opts = append(opts, "ms_mode="+addMode)
	}
	if s.readOnly && !krbd.HasOption(opts, "ro") && !krbd.HasOption(opts, "read_only") {
		opts = append(opts, "ro")
	}
	if !krbd.HasOption(opts, "mount_timeout") {
		// The kernel waits this long for the monitors (60 s by default).
		opts = append(opts, "mount_timeout="+strconv.Itoa(seconds(deadline.Remaining(ctx)-kernelReserve)))
	}
	mreq := krbd.MapRequest{Monitors: list, User: s.user, Secret: secret, Spec: s.spec, Options: opts}
	req.Log.Infof("mapping %s with the kernel rbd driver: %s", s.describe(), mreq)
	dev, err := a.tree.Map(ctx, mreq)
	if err != nil {
		return mapping{}, ocf.Errorf(ocf.ErrGeneric, "%v", err)
	}
	return mapping{driver: driverKRBD, rbd: dev}, nil
}
