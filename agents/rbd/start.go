package rbd

import (
	"context"
	"errors"
	"time"

	"github.com/kvmha/kvmha/agents/rbd/cephapi"
	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/ocf"
)

// start maps the image unless a device maps it already.
func (a *agent) start(ctx context.Context, req *ocf.Request) error {
	s, ms, err := a.settingsAndMappings(req)
	if err != nil {
		return err
	}
	switch len(ms) {
	case 0:
	case 1:
		if _, err := a.check(ms[0]); err != nil {
			return ocf.Errorf(ocf.ErrGeneric, "%s is mapped on %s, but: %v", s.describe(), ms[0], err)
		}
		a.keepLink(req, s.spec, ms[0])
		req.Log.Infof("%s is already mapped on %s", s.describe(), ms[0])
		return saveRecord(req, a.recordOf(s.spec, ms[0]))
	default:
		return ocf.Errorf(ocf.ErrGeneric, "%s is mapped %d times on this node: %s", s.describe(), len(ms), describeAll(ms))
	}

	key, err := s.keySource(ctx)
	if err != nil {
		return err
	}
	sess, err := a.connect(ctx, req, s, key)
	if err != nil {
		return err
	}
	defer sess.Close()

	info, err := sess.Image(ctx, s.image())
	switch {
	case errors.Is(err, cephapi.ErrImageNotFound):
		return ocf.Errorf(ocf.ErrConfigured, "image %s does not exist", s.spec.ImageSpec())
	case errors.Is(err, cephapi.ErrSnapshotNotFound):
		return ocf.Errorf(ocf.ErrConfigured, "snapshot %s does not exist", s.spec)
	case err != nil:
		return ocf.Errorf(ocf.ErrGeneric, "reading image %s: %v", s.spec, req.Redact(err.Error()))
	}
	features := krbd.Features(info.Features)

	driver, err := a.chooseDriver(ctx, req, s, features)
	if err != nil {
		return err
	}
	if s.exclusive && s.spec.Snap == "" {
		if err := a.refuseHolders(ctx, req, s, sess); err != nil {
			return err
		}
	}
	// Recorded before the map: a map the kernel finishes after this start gave up is
	// still this resource's, and a stop with unusable parameters must find it.
	if err := saveRecord(req, pendingRecord(s.spec, driver)); err != nil {
		return err
	}
	var m mapping
	if driver == driverKRBD {
		m, err = a.mapKRBD(ctx, req, s, sess, key)
	} else {
		m, err = a.mapNBD(ctx, req, s, sess, key)
	}
	if err != nil {
		return err
	}
	if err := saveRecord(req, a.recordOf(s.spec, m)); err != nil {
		return err
	}
	if _, err := a.check(m); err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "%s was mapped on %s, but: %v", s.describe(), m, err)
	}
	a.keepLink(req, s.spec, m)
	req.Log.Infof("mapped %s on %s (%s, %d bytes, features %s)", s.describe(), m, driver, info.Size, features)
	return nil
}

// connect opens the Ceph session in the helper.
func (a *agent) connect(ctx context.Context, req *ocf.Request, s settings, key keySource) (cephapi.Session, error) {
	conf, err := s.conf()
	if err != nil {
		return nil, err
	}
	access := cephapi.Access{ConfPath: conf, User: s.user, MonHosts: s.monHosts()}
	switch key.format {
	case krbd.Keyring:
		access.Keyring = key.path
	case krbd.BareKey:
		access.KeyFile = key.path
	}
	sess, err := a.openCeph(ctx, access)
	if err == nil {
		return sess, nil
	}
	var (
		oe *ocf.Error
		ce *cephapi.ConnectError
		pe *cephapi.ParamError
	)
	switch {
	case errors.As(err, &oe):
		return nil, err
	case errors.As(err, &pe):
		return nil, ocf.ParamErrorf(pe.Param, "%s", req.Redact(pe.Error()))
	case errors.As(err, &ce):
		// The monitors and the cause come first: the exit reason keeps 128 bytes.
		return nil, ocf.Errorf(ocf.ErrGeneric, "%s", req.Redact(ce.Error()))
	}
	return nil, ocf.Errorf(ocf.ErrGeneric, "connecting to Ceph as client.%s: %s", s.user, req.Redact(err.Error()))
}

// seconds turns a duration into whole seconds for a kernel or rbd-nbd
// option: at least 1.
func seconds(d time.Duration) int {
	if d < time.Second {
		return 1
	}
	return int(d / time.Second)
}
