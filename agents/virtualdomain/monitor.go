package virtualdomain

import (
	"context"
	"errors"
	"time"

	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// agentPingTimeout bounds the guest agent's answer at depth 10 (seconds).
const agentPingTimeout = 5

// monitor reports the domain's state: 0 running, 7 cleanly stopped, 1
// failed. At depth 0 this is one libvirt round trip (plus the connection's
// handshake); when libvirtd does not answer, the qemu process table decides,
// within the deadline.
func (v *vd) monitor(ctx context.Context, req *ocf.Request) error {
	s := readSettings(req, v.defaultURI)
	t, err := v.monitorTarget(req, s)
	if err != nil {
		return err
	}
	// Leave time to look at /proc if libvirtd hangs.
	lctx, cancel := earlier(ctx, reserveFor(ctx, 500*time.Millisecond, 2*time.Second))
	defer cancel()
	h, err := v.dialHypervisor(lctx, s.uri)
	if err != nil {
		return v.monitorWithoutLibvirt(req, s, t, err)
	}
	defer h.Close()
	obs, err := v.observeSettled(lctx, h, t)
	if errors.Is(err, libvirt.ErrUnreachable) {
		return v.monitorWithoutLibvirt(req, s, t, err)
	}
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot get the state of domain %s: %v", t.name, err)
	}
	if obs.found && t.file != nil && t.file.cfg.UUID == "" && obs.dom.UUID != t.uuid {
		v.remember(req, t.name, obs.dom.UUID) // the next monitor needs no lookup
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
	return v.checkRunning(ctx, req, s, h, t, obs)
}

// monitorTarget is the domain from the config file, or the one the agent
// remembers starting when the file cannot be read (validate let that pass).
// When the file names no UUID, the one libvirt gave the domain this node
// started is used: a stale one only costs the lookup by name it saves.
func (v *vd) monitorTarget(req *ocf.Request, s settings) (target, error) {
	df, err := v.readDomainFile(s.configPath)
	if err == nil {
		t := targetOf(df)
		if t.uuid == "" {
			if mem, ok := v.recall(req); ok && mem.Name == t.name {
				t.uuid = mem.UUID
			}
		}
		return t, nil
	}
	if mem, ok := v.recall(req); ok {
		req.Log.Warnf("%v; checking domain %s, which this node started", err, mem.Name)
		return target{name: mem.Name, uuid: mem.UUID}, nil
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
	}
	if err := v.runMonitorScripts(ctx, req, s, t.name); err != nil {
		return err
	}
	v.updateUtilization(ctx, req, s, obs.info)
	if s.saveConfig && t.file != nil {
		v.saveConfig(ctx, req, s, h, obs.dom)
	}
	return nil
}

// monitorWithoutLibvirt decides from the process table when libvirtd does
// not answer. A live qemu of the domain means it runs. No such process
// means it does not run here: a qemu/kvm domain only runs as that process.
// For other domain types nothing is certain, so the monitor fails.
func (v *vd) monitorWithoutLibvirt(req *ocf.Request, s settings, t target, cause error) error {
	if !t.isQemu() {
		return ocf.Errorf(ocf.ErrGeneric, "libvirtd (%s) does not answer (%v); cannot tell whether domain %s runs", s.uri, cause, t.name)
	}
	pids, err := v.qemu.Find(t.name, t.uuid)
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "libvirtd (%s) does not answer (%v), and the process table cannot be read: %v", s.uri, cause, err)
	}
	if len(pids) > 0 {
		req.Log.Warnf("libvirtd (%s) does not answer (%v); qemu process %d of domain %s is alive: reporting it running", s.uri, cause, pids[0], t.name)
		return nil
	}
	return ocf.Errorf(ocf.NotRunning, "libvirtd (%s) does not answer (%v), and no qemu process of domain %s runs on this node", s.uri, cause, t.name)
}
