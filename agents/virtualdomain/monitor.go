package virtualdomain

import (
	"context"
	"errors"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// agentPingTimeout bounds the guest agent's answer at depth 10 (seconds).
const agentPingTimeout = 5

// monitor reports the domain's state: 0 running, 7 cleanly stopped, 1
// failed. At depth 0 this is one libvirt round trip (plus the connection's
// handshake); when libvirtd does not answer, the qemu process table decides,
// within the deadline, for a domain whose qemu runs on this host.
func (v *vd) monitor(ctx context.Context, req *ocf.Request) error {
	if v.unusable != nil {
		return v.monitorRecorded(ctx, req)
	}
	s := readSettings(req, v.defaultURI)
	t, err := v.monitorTarget(ctx, req, s)
	if err != nil {
		return err
	}
	return v.monitorDomain(ctx, req, &s, t)
}

// monitorRecorded is a probe whose parameters cannot be used (validate said
// why, in v.unusable) on a node whose record says it started a domain: the
// runtime would report "not running" for the parameters alone, so the
// recorded domain is judged instead, by the record alone.
func (v *vd) monitorRecorded(ctx context.Context, req *ocf.Request) error {
	rec, ok, err := v.loadRecord(req, v.fallbackURI(req))
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot tell whether the domain runs: %v, and %v", v.unusable, err)
	}
	if !ok {
		return v.unusable
	}
	req.Log.Warnf("%v; checking domain %s on %s, which this node started", v.unusable, rec.Name, rec.URI)
	return v.monitorDomain(ctx, req, nil, rec.target())
}

// monitorRefused is Agent.MonitorRecorded: the runtime refused a parameter's
// value before validate ran; the recorded domain is judged all the same.
func (v *vd) monitorRefused(ctx context.Context, req *ocf.Request) error {
	if v.unusable == nil {
		v.unusable = ocf.Errorf(ocf.ErrConfigured, "a parameter has a value of the wrong type")
	}
	return v.monitorRecorded(ctx, req)
}

// monitorDomain reports the state of t. With settings, a running domain
// also gets the deeper checks and the housekeeping (see checkRunning).
func (v *vd) monitorDomain(ctx context.Context, req *ocf.Request, s *settings, t target) error {
	// Leave time to look at /proc if libvirtd hangs.
	lctx, cancel := earlier(ctx, reserveFor(ctx, 500*time.Millisecond, 2*time.Second))
	defer cancel()
	h, err := v.dialHypervisor(lctx, t.uri)
	if err != nil {
		return v.monitorWithoutLibvirt(req, t, err)
	}
	defer h.Close()
	obs, err := v.observeSettled(lctx, h, t)
	if errors.Is(err, libvirt.ErrUnreachable) {
		return v.monitorWithoutLibvirt(req, t, err)
	}
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot get the state of domain %s: %v", t.name, err)
	}
	switch {
	case obs.stopped():
		req.Log.Debugf("domain %s is not running", t.name)
		return ocf.Exit(ocf.NotRunning)
	case obs.info.State == libvirt.StateCrashed:
		return ocf.Errorf(ocf.ErrGeneric, "domain %s has crashed", t.name)
	case obs.info.State == libvirt.StateNoState:
		return ocf.Errorf(ocf.ErrGeneric, "domain %s has no state: libvirt cannot tell whether it runs", t.name)
	}
	if t.file != nil && (!hasCurrentRecord(req) || t.file.cfg.UUID == "" && obs.dom.UUID != t.uuid && v.recordNames(req, t)) {
		// A domain running here of which this node has no record (an
		// earlier version started it, or a probe found it) gets one: a stop
		// with unusable parameters must find it. Without a UUID in the
		// config file, the one libvirt gave the domain spares the next
		// monitors the lookup by name. A record of another domain (the
		// config file was edited) is kept: stop must find that one too.
		t.uuid = obs.dom.UUID
		if err := v.saveRecord(req, t); err != nil {
			req.Log.Warnf("%v", err)
		}
	}
	if s == nil {
		return nil
	}
	return v.checkRunning(ctx, req, *s, h, t, obs)
}

// recordNames reports whether this node's record names t (its name and
// URI); false when there is none or it cannot be read.
func (v *vd) recordNames(req *ocf.Request, t target) bool {
	rec, ok, err := v.loadRecord(req, t.uri)
	return ok && err == nil && rec.Name == t.name && rec.URI == t.uri
}

// monitorTarget is the domain from the config file, or the one this node's
// record names when the file cannot be read (validate let that pass). When
// the file names no UUID, the one libvirt gave the domain this node started
// is used: a stale one only costs the lookup by name it saves.
func (v *vd) monitorTarget(ctx context.Context, req *ocf.Request, s settings) (target, error) {
	df, err := v.readDomainFile(ctx, s.configPath)
	if err == nil {
		t := targetOf(df, s.uri)
		if t.uuid == "" {
			if rec, ok, _ := v.loadRecord(req, s.uri); ok && rec.Name == t.name && rec.URI == t.uri {
				t.uuid = rec.UUID
			}
		}
		return t, nil
	}
	rec, ok, rerr := v.loadRecord(req, s.uri)
	switch {
	case rerr != nil:
		return target{}, ocf.Errorf(ocf.ErrGeneric, "cannot tell whether the domain runs: %v, and %v", err, rerr)
	case ok:
		req.Log.Warnf("%v; checking domain %s on %s, which this node started", err, rec.Name, rec.URI)
		return rec.target(), nil
	}
	return target{}, err
}

// checkRunning runs the deeper checks on a running domain, then the
// housekeeping heartbeat:VirtualDomain does on every monitor.
func (v *vd) checkRunning(ctx context.Context, req *ocf.Request, s settings, h hypervisor, t target, obs observation) error {
	if req.CheckLevel() >= 10 && t.file != nil && t.file.cfg.GuestAgent {
		if err := h.AgentPing(ctx, obs.dom, agentPingTimeout); err != nil {
			return ocf.Errorf(ocf.ErrGeneric, "the guest agent of domain %s does not answer: %v", t.name, err)
		}
	}
	if req.CheckLevel() >= 20 && t.file != nil {
		if err := v.checkLocalHolder(ctx, req, s, h, t.file.cfg); err != nil {
			return err
		}
		v.checkOwnRecord(ctx, req, s, h, t, obs.dom.UUID)
	}
	if err := v.runMonitorScripts(ctx, req, s, t.name); err != nil {
		return err
	}
	v.updateUtilization(ctx, req, s, obs.info)
	if s.saveConfig && t.file != nil {
		v.saveConfig(ctx, req, s, h, obs.dom, t.file)
	}
	return nil
}

// monitorWithoutLibvirt decides from the process table when libvirtd does
// not answer. A live qemu of the domain means it runs. No such process
// means it does not run, when its qemu would run on this host (see
// whyNotLocal); otherwise nothing is certain, so the monitor fails.
func (v *vd) monitorWithoutLibvirt(req *ocf.Request, t target, cause error) error {
	uri := agentlog.Clip(t.uri)
	if why := v.whyNotLocal(t); why != "" {
		return ocf.Errorf(ocf.ErrGeneric, "cannot tell whether domain %s runs: libvirtd %s does not answer, and %s (%v)", t.name, uri, why, cause)
	}
	pids, err := v.qemu.Find(t.name, t.uuid)
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "libvirtd (%s) does not answer (%v), and the process table cannot be read: %v", uri, cause, err)
	}
	if len(pids) > 0 {
		req.Log.Warnf("libvirtd (%s) does not answer (%v); qemu process %d of domain %s is alive: reporting it running", uri, cause, pids[0], t.name)
		return nil
	}
	return ocf.Errorf(ocf.NotRunning, "libvirtd (%s) does not answer (%v), and no qemu process of domain %s runs on this node", uri, cause, t.name)
}
