package virtualdomain

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/deadline"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// Time held back from a stop's budget for destroying the domain after the
// graceful shutdown (libvirt's destroy sends SIGTERM and waits for it).
const (
	minDestroyReserve = 2 * time.Second
	maxDestroyReserve = 30 * time.Second
	// maxTermPhase bounds how long a qemu gets between SIGTERM and SIGKILL when
	// the agent signals it itself.
	maxTermPhase = 3 * time.Second
)

// stop shuts the domain down: a graceful shutdown (honouring shutdown_mode)
// until shortly before the deadline, then destroy. Stopping a stopped
// domain succeeds. When libvirtd does not answer, the domain's qemu process
// is signalled directly near the deadline; stop succeeds only once no qemu
// of the domain is left, because a stop that lies gets the guest started
// twice. Once stopped, this node's record of the domain is dropped.
func (v *vd) stop(ctx context.Context, req *ocf.Request) error {
	s := readSettings(req, v.defaultURI)
	if err := checkStopSettings(s); err != nil {
		// The runtime answers this: it stops what this node's record (or the
		// .domain file of earlier versions) names, through stopRecorded, or
		// succeeds when there is none.
		return err
	}
	targets, err := v.whatToStop(ctx, req, s)
	if err != nil || len(targets) == 0 {
		return err
	}
	return v.stopTargets(ctx, req, s, targets)
}

// stopRecorded is Agent.StopRecorded: a stop whose parameters cannot be used
// stops the domain this node's record names, on the URI it was started on,
// with the default stop settings (graceful shutdown, then destroy). No
// parameter is read: they may not even parse.
func (v *vd) stopRecorded(ctx context.Context, req *ocf.Request) error {
	rec, ok, err := v.loadRecord(req, v.fallbackURI(req))
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot tell which domain to stop: %v", err)
	}
	if !ok {
		req.Log.Infof("this node has no record of a domain of this resource: it is stopped")
		return nil
	}
	req.Log.Infof("stopping domain %s on %s, which this node started, with the default stop settings", rec.Name, rec.URI)
	return v.stopTargets(ctx, req, recordSettings(rec), []target{rec.target()})
}

// recordSettings are the settings of a stop by the record alone: the
// record's URI, every other parameter at its declared default.
func recordSettings(rec domainRecord) settings {
	return settings{uri: rec.URI}
}

// whatToStop lists the domains stop must stop: the config file's, and the
// one this node's record names when that is another (an edited <name> or
// hypervisor must not strand the domain this node started). When the config
// file cannot be read, the record's alone; with neither, nothing of this
// resource was started here.
func (v *vd) whatToStop(ctx context.Context, req *ocf.Request, s settings) ([]target, error) {
	rec, recorded, recErr := v.loadRecord(req, s.uri)
	df, cfgErr := v.readDomainFile(ctx, s.configPath)
	if cfgErr != nil {
		switch {
		case recErr != nil:
			return nil, ocf.Errorf(ocf.ErrGeneric, "cannot tell which domain to stop: %v, and %v", cfgErr, recErr)
		case recorded:
			req.Log.Warnf("%v; stopping domain %s on %s, which this node started", cfgErr, rec.Name, rec.URI)
			return []target{rec.target()}, nil
		}
		req.Log.Infof("%v; no domain of this resource was started on this node: it is stopped", cfgErr)
		return nil, nil
	}
	t := targetOf(df, s.uri)
	switch {
	case recErr != nil:
		req.Log.Warnf("%v; stopping domain %s of the config file", recErr, t.name)
	case !recorded:
	case rec.Name == t.name && rec.URI == t.uri:
		if t.uuid == "" {
			t.uuid = rec.UUID
		}
		t.storageLost = rec.StorageLost
	default:
		req.Log.Warnf("this node started domain %s on %s, but the configuration names domain %s on %s: stopping both",
			rec.Name, rec.URI, t.name, t.uri)
		return []target{rec.target(), t}, nil
	}
	return []target{t}, nil
}

// stopTargets stops each domain in turn, sharing the time left between
// them, and drops this node's record once all are stopped.
func (v *vd) stopTargets(ctx context.Context, req *ocf.Request, s settings, targets []target) error {
	for i, t := range targets {
		tctx, cancel := ctx, context.CancelFunc(func() {})
		if left := len(targets) - i; left > 1 {
			tctx, cancel = context.WithTimeout(ctx, deadline.Remaining(ctx)/time.Duration(left))
		}
		err := v.stopDomain(tctx, req, s, t)
		cancel()
		if err != nil {
			return err
		}
	}
	v.dropRecord(req)
	return nil
}

// stopDomain stops one domain within ctx.
func (v *vd) stopDomain(ctx context.Context, req *ocf.Request, s settings, t target) error {
	graceful, cancel := earlier(ctx, reserveFor(ctx, minDestroyReserve, maxDestroyReserve))
	defer cancel()
	if t.storageLost != "" {
		// Before anything asks libvirtd: its calls on this domain hang behind the stuck
		// qemu (found by the campaign: the stop's first call waited 56 s).
		req.Log.Warnf("domain %s cannot shut down cleanly, a monitor found its storage lost (%s): killing it", t.name, t.storageLost)
		v.killStuckQemu(req, t)
	}
	h, err := v.dialHypervisor(graceful, t.uri)
	if err != nil {
		return v.stopWithoutLibvirt(ctx, graceful, req, s, t, err)
	}
	defer h.Close()
	return v.stopConnected(ctx, graceful, req, s, h, t)
}

func (v *vd) stopConnected(ctx, graceful context.Context, req *ocf.Request, s settings, h hypervisor, t target) error {
	obs, err := observe(graceful, h, t)
	if errors.Is(err, libvirt.ErrUnreachable) {
		return v.stopWithoutLibvirt(ctx, graceful, req, s, t, err)
	}
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot get the state of domain %s: %v", t.name, err)
	}
	if obs.stopped() {
		req.Log.Infof("domain %s already stopped", t.name)
		if t.storageLost != "" {
			v.releaseAfterDestroy(ctx, req, s, h, t)
		}
		return nil
	}
	if s.forceStop || obs.info.State == libvirt.StateCrashed {
		return v.destroy(ctx, req, s, h, t, obs.dom)
	}
	if t.storageLost != "" {
		return v.destroy(ctx, req, s, h, t, obs.dom)
	}
	if s.snapshotDir != "" {
		path := filepath.Join(s.snapshotDir, t.name+".state")
		err := h.Save(graceful, obs.dom, path)
		if err == nil {
			req.Log.Infof("saved the state of domain %s to %s", t.name, agentlog.Clip(path))
			return v.waitStopped(ctx, req, s, h, t)
		}
		req.Log.Errorf("failed to save the state of domain %s to %s: %v; shutting it down", t.name, agentlog.Clip(path), err)
	}
	if s.saveConfig && t.file != nil {
		v.saveConfig(graceful, req, s, h, obs.dom, t.file)
	}
	req.Log.Infof("issuing graceful shutdown request for domain %s", t.name)
	if err := h.Shutdown(graceful, obs.dom, s.shutdownFlags()); err != nil {
		if errors.Is(err, libvirt.ErrUnreachable) && ctx.Err() == nil && graceful.Err() == nil {
			return v.stopWithoutLibvirt(ctx, graceful, req, s, t, err)
		}
		req.Log.Warnf("shutdown request for domain %s failed: %v; destroying it", t.name, err)
		return v.destroy(ctx, req, s, h, t, obs.dom)
	}
	gone, err := v.waitUntilStopped(graceful, h, t)
	switch {
	case gone:
		req.Log.Infof("domain %s shut down", t.name)
		return nil
	case err != nil && !libvirt.IsTimeout(err):
		if errors.Is(err, libvirt.ErrUnreachable) {
			return v.stopWithoutLibvirt(ctx, graceful, req, s, t, err)
		}
		req.Log.Warnf("cannot follow the shutdown of domain %s: %v", t.name, err)
	case err != nil:
		// A call was abandoned as the graceful phase ended, which closed
		// the connection: destroy needs a new one.
		if h, err = v.redial(ctx, t.uri); err != nil {
			return v.stopWithoutLibvirt(ctx, ctx, req, s, t, err)
		}
		defer h.Close()
	}
	req.Log.Warnf("domain %s did not shut down in time; destroying it", t.name)
	return v.destroy(ctx, req, s, h, t, obs.dom)
}

// redial connects again, leaving half the remaining time for what follows.
func (v *vd) redial(ctx context.Context, uri string) (hypervisor, error) {
	dctx, cancel := earlier(ctx, deadline.Remaining(ctx)/2)
	defer cancel()
	return v.dialHypervisor(dctx, uri)
}

// waitUntilStopped polls the domain's state until it is stopped (true),
// ctx ends between two calls (false, nil) or a call fails (false, err; a
// call abandoned at the deadline gives an error for which
// libvirt.IsTimeout holds).
func (v *vd) waitUntilStopped(ctx context.Context, h hypervisor, t target) (bool, error) {
	for {
		obs, err := observe(ctx, h, t)
		if err != nil {
			return false, err
		}
		if obs.stopped() {
			return true, nil
		}
		if deadline.Sleep(ctx, v.poll) != nil {
			return false, nil
		}
	}
}

// waitStopped waits for the domain to go away within ctx; stop succeeds
// only then.
func (v *vd) waitStopped(ctx context.Context, req *ocf.Request, s settings, h hypervisor, t target) error {
	gone, err := v.waitUntilStopped(ctx, h, t)
	if gone {
		return nil
	}
	if err != nil && errors.Is(err, libvirt.ErrUnreachable) {
		return v.stopWithoutLibvirt(ctx, ctx, req, s, t, err)
	}
	return ocf.Errorf(ocf.ErrGeneric, "domain %s is still running: %v", t.name, orTimeout(err))
}

// destroy stops the domain at once and waits until libvirt reports it
// stopped. libvirt gets half of the time left: a qemu stuck in I/O on lost
// storage can make libvirtd's destroy (SIGTERM, a wait, SIGKILL, a wait) and
// libvirtd itself hang, and the other half is for signalling the qemu
// directly (found by the fault campaign: a destroy that took all the time
// left none for the SIGKILL, and the stop failed with the guest still up).
func (v *vd) destroy(ctx context.Context, req *ocf.Request, s settings, h hypervisor, t target, dom libvirt.Domain) error {
	req.Log.Infof("issuing forced shutdown (destroy) request for domain %s", t.name)
	dctx, cancel := earlier(ctx, deadline.Remaining(ctx)/2)
	defer cancel()
	for {
		err := h.Destroy(dctx, dom)
		switch {
		case err == nil, errors.Is(err, libvirt.ErrNotFound), errors.Is(err, libvirt.ErrInvalidOperation):
			// Gone, or no longer running: the intended outcome.
			if err := v.waitStopped(ctx, req, s, h, t); err != nil {
				return err
			}
			v.releaseAfterDestroy(ctx, req, s, h, t)
			return nil
		case errors.Is(err, libvirt.ErrUnreachable), libvirt.IsTimeout(err), dctx.Err() != nil:
			return v.killWithoutLibvirt(ctx, req, s, t, err)
		}
		// libvirt gives up on a qemu that resists SIGKILL for a while
		// ("Device or resource busy"); try again while its time lasts.
		req.Log.Warnf("destroy of domain %s failed: %v", t.name, err)
		if deadline.Sleep(dctx, v.poll) != nil {
			return v.killWithoutLibvirt(ctx, req, s, t, err)
		}
	}
}

// killWithoutLibvirt ends the domain's qemu itself after libvirtd failed to
// destroy it in its time: no qemu left means stopped; a qemu that is not on
// this host cannot be signalled (stop fails).
func (v *vd) killWithoutLibvirt(ctx context.Context, req *ocf.Request, s settings, t target, cause error) error {
	if why := v.whyNotLocal(t); why != "" {
		return ocf.Errorf(ocf.ErrGeneric, "cannot stop domain %s: libvirtd %s did not destroy it (%v), and %s",
			t.name, agentlog.Clip(t.uri), cause, why)
	}
	req.Log.Warnf("libvirtd did not destroy domain %s in time (%v); signalling its qemu", t.name, cause)
	pids, err := v.qemu.Find(t.name, t.uuid)
	switch {
	case err != nil:
		return ocf.Errorf(ocf.ErrGeneric, "libvirtd did not destroy domain %s (%v), and the process table cannot be read: %v", t.name, cause, err)
	case len(pids) == 0:
		req.Log.Infof("no qemu process of domain %s runs on this node: it is stopped", t.name)
		return nil
	}
	return v.terminateAndRelease(ctx, req, s, t, pids)
}

// terminateAndRelease ends the domain's qemu without libvirtd, then releases what the
// killed qemu held on its RBD images, as a destroy does: a qemu that ends on a signal while
// its I/O hangs leaves its exclusive lock behind (found by the campaign, seed 20261208
// fault 36: after an OSD restart, libvirtd's destroy hung behind such a qemu, the agent
// killed it, and the next node refused the guest for its lock until Pacemaker tried the
// old node again, 100 s later).
func (v *vd) terminateAndRelease(ctx context.Context, req *ocf.Request, s settings, t target, pids []int) error {
	if err := v.terminateQemu(ctx, req, t, pids); err != nil {
		return err
	}
	v.releaseAfterDestroy(ctx, req, s, nil, t)
	return nil
}

// stopWithoutLibvirt stops a domain whose libvirtd does not answer. No qemu
// of the domain on this node means it is stopped, when its qemu would run
// here (see whyNotLocal); otherwise nothing can be concluded and stop fails.
// While a qemu of the domain is alive, the agent keeps trying to reach
// libvirtd until the graceful phase ends, then terminates the qemu process
// itself (SIGTERM, then SIGKILL), as destroy would.
func (v *vd) stopWithoutLibvirt(ctx, graceful context.Context, req *ocf.Request, s settings, t target, cause error) error {
	if why := v.whyNotLocal(t); why != "" {
		return ocf.Errorf(ocf.ErrGeneric, "cannot stop domain %s: libvirtd %s does not answer, and %s (%v)",
			t.name, agentlog.Clip(t.uri), why, cause)
	}
	req.Log.Warnf("libvirtd (%s) does not answer: %v", agentlog.Clip(t.uri), cause)
	for {
		pids, err := v.qemu.Find(t.name, t.uuid)
		if err != nil {
			return ocf.Errorf(ocf.ErrGeneric, "libvirtd (%s) does not answer (%v), and the process table cannot be read: %v", agentlog.Clip(t.uri), cause, err)
		}
		if len(pids) == 0 {
			req.Log.Infof("no qemu process of domain %s runs on this node: it is stopped", t.name)
			return nil
		}
		if graceful.Err() != nil {
			return v.terminateAndRelease(ctx, req, s, t, pids)
		}
		// libvirtd may be back (a restart): then stop the normal way.
		attempt, cancel := context.WithTimeout(graceful, 2*time.Second)
		h, err := v.dialHypervisor(attempt, t.uri)
		cancel()
		if err == nil {
			defer h.Close()
			req.Log.Infof("libvirtd answers again")
			return v.stopConnected(ctx, graceful, req, s, h, t)
		}
		deadline.Sleep(graceful, v.poll)
	}
}

// terminateQemu signals the domain's qemu processes: SIGTERM, then SIGKILL
// half way to the deadline or after maxTermPhase, whichever comes first. It
// succeeds once none is left.
func (v *vd) terminateQemu(ctx context.Context, req *ocf.Request, t target, pids []int) error {
	termPhase, cancel := context.WithTimeout(ctx, min(deadline.Remaining(ctx)/2, maxTermPhase))
	defer cancel()
	for _, kill := range []bool{false, true} {
		phase := termPhase
		if kill {
			phase = ctx
		}
		for _, pid := range pids {
			req.Log.Warnf("sending %s to qemu process %d of domain %s", signalName(kill), pid, t.name)
			if err := v.qemu.Terminate(pid, kill); err != nil && !errors.Is(err, os.ErrProcessDone) {
				req.Log.Warnf("signal to process %d: %v", pid, err)
			}
		}
		for {
			left, err := v.qemu.Find(t.name, t.uuid)
			if err == nil && len(left) == 0 {
				req.Log.Warnf("qemu of domain %s is gone; libvirtd will notice when it answers again", t.name)
				return nil
			}
			if err == nil {
				pids = left
			}
			if deadline.Sleep(phase, v.poll) != nil {
				break
			}
		}
	}
	return ocf.Errorf(ocf.ErrGeneric, "libvirtd does not answer, and qemu of domain %s survived SIGTERM and SIGKILL", t.name)
}

// killStuckQemu sends SIGKILL to the domain's qemu on this host, before libvirtd is asked
// anything: a qemu whose I/O hangs on lost storage does not end on SIGTERM (it waits to
// drain its requests), libvirtd's calls on the domain wait behind it, and its destroy
// spends 10 s or more before its own SIGKILL (found by the campaign: 20 to 56 s per
// guest). libvirtd then sees the qemu gone and tidies up. Nothing is lost: the guest could
// not write.
func (v *vd) killStuckQemu(req *ocf.Request, t target) {
	if v.whyNotLocal(t) != "" {
		return
	}
	pids, err := v.qemu.Find(t.name, t.uuid)
	if err != nil {
		return
	}
	for _, pid := range pids {
		req.Log.Warnf("sending SIGKILL to qemu process %d of domain %s", pid, t.name)
		if err := v.qemu.Terminate(pid, true); err != nil && !errors.Is(err, os.ErrProcessDone) {
			req.Log.Warnf("signal to process %d: %v", pid, err)
		}
	}
}

func signalName(kill bool) string {
	if kill {
		return "SIGKILL"
	}
	return "SIGTERM"
}

// orTimeout names the deadline when there is no error to report.
func orTimeout(err error) error {
	if err == nil {
		return errors.New("the action's time ran out")
	}
	return err
}
