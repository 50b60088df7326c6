package virtualdomain

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/deadline"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// start creates the domain from its XML as a transient domain, like
// "virsh create" in heartbeat:VirtualDomain, after making sure that no other
// live host runs it or writes to its disks by its heartbeat record (with the
// heartbeat parameter, heartbeatguard.go) and that no other host holds its
// RBD images. Starting a running domain succeeds.
func (v *vd) start(ctx context.Context, req *ocf.Request) error {
	s := readSettings(req, v.defaultURI)
	df, err := v.readDomainFile(ctx, s.configPath)
	if err != nil {
		return err
	}
	t := targetOf(df, s.uri)
	h, err := v.dialHypervisor(ctx, s.uri)
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot connect to libvirtd at %s: %v", agentlog.Clip(s.uri), err)
	}
	defer h.Close()

	obs, err := v.observeSettled(ctx, h, t)
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot get the state of domain %s: %v", t.name, err)
	}
	switch {
	case obs.active():
		req.Log.Infof("domain %s already running", t.name)
		t.uuid = obs.dom.UUID
		if err := v.saveRecord(req, t); err != nil {
			req.Log.Warnf("%v", err)
		}
		return nil
	case obs.found && obs.info.State == libvirt.StateNoState:
		return ocf.Errorf(ocf.ErrGeneric, "domain %s has no state: libvirt cannot tell whether it runs", t.name)
	case obs.found && obs.info.State == libvirt.StateCrashed:
		req.Log.Warnf("domain %s crashed; destroying what is left of it", t.name)
		if err := h.Destroy(ctx, obs.dom); err != nil && !errors.Is(err, libvirt.ErrInvalidOperation) && !errors.Is(err, libvirt.ErrNotFound) {
			return ocf.Errorf(ocf.ErrGeneric, "cannot clean up crashed domain %s: %v", t.name, err)
		}
	}
	if obs.found {
		if err := v.undefineKeepingConfig(ctx, req, h, df, obs.dom); err != nil {
			return err
		}
	}
	if s.startResources {
		if err := ensureResources(ctx, h, df.cfg); err != nil {
			return err
		}
	}
	if err := v.ensureCephSecrets(ctx, req, s, h, df.cfg); err != nil {
		return err
	}
	if err := v.guardStart(ctx, req, s, h, df, t.uuid, nil, "refusing to start domain "+t.name); err != nil {
		return err
	}
	if err := v.checkRBDSafety(ctx, req, s, h, df.cfg); err != nil {
		return err
	}

	// The record comes first: a stop must find the domain whatever happens
	// from here on, even with parameters it cannot use. Without one, the
	// domain is not started.
	if err := v.saveRecord(req, t); err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "%v; not starting a domain a stop could not find again", err)
	}
	if restored, err := v.restoreSnapshot(ctx, req, s, h, t); err != nil || restored {
		if err == nil {
			err = v.waitRunning(ctx, req, s, h, t)
		}
		return err
	}
	dom, err := h.CreateTransient(ctx, string(df.raw))
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "failed to start virtual domain %s: %v", t.name, err)
	}
	if dom.UUID != "" && dom.UUID != t.uuid {
		t.uuid = dom.UUID // the one libvirt gave it: monitors need no lookup by name
		if err := v.saveRecord(req, t); err != nil {
			req.Log.Warnf("%v", err)
		}
	}
	return v.waitRunning(ctx, req, s, h, t)
}

// undefineKeepingConfig removes a persistent definition of the domain, as
// heartbeat:VirtualDomain does before "virsh create": the resource runs the
// domain as transient from its config file. libvirt deletes a definition's
// file when it lives in its own folders, so the config file is written
// back if it vanished.
func (v *vd) undefineKeepingConfig(ctx context.Context, req *ocf.Request, h hypervisor, df *domainFile, dom libvirt.Domain) error {
	persistent, err := h.IsPersistent(ctx, dom)
	if err != nil || !persistent {
		return nil
	}
	req.Log.Infof("undefining the persistent definition of domain %s before starting it from %s", df.cfg.Name, df.path)
	info, statErr := os.Stat(df.path)
	if err := h.Undefine(ctx, dom); err != nil && !errors.Is(err, libvirt.ErrNotFound) {
		return ocf.Errorf(ocf.ErrGeneric, "cannot undefine domain %s: %v", df.cfg.Name, err)
	}
	if _, err := os.Stat(df.path); errors.Is(err, os.ErrNotExist) && statErr == nil {
		if err := files.WriteAtomic(df.path, df.raw, info.Mode().Perm()); err != nil {
			req.Log.Warnf("libvirt removed %s with the definition and it cannot be written back: %v", df.path, err)
		}
	}
	return nil
}

// restoreSnapshot starts the domain from the state file a stop saved in the
// snapshot folder, and removes the file; restored is false when there is
// none.
func (v *vd) restoreSnapshot(ctx context.Context, req *ocf.Request, s settings, h hypervisor, t target) (restored bool, err error) {
	if s.snapshotDir == "" {
		return false, nil
	}
	path := filepath.Join(s.snapshotDir, t.name+".state")
	if _, err := os.Stat(path); err != nil {
		return false, nil
	}
	if err := h.Restore(ctx, path); err != nil {
		return false, ocf.Errorf(ocf.ErrGeneric, "failed to restore %s from state file in %s directory: %v", t.name, s.snapshotDir, err)
	}
	if err := os.Remove(path); err != nil {
		req.Log.Warnf("cannot remove the state file %s: %v", path, err)
	}
	req.Log.Infof("domain %s restored from %s", t.name, path)
	return true, nil
}

// waitRunning waits until libvirt reports the domain running and the
// monitor scripts pass, as start and migrate_from must.
func (v *vd) waitRunning(ctx context.Context, req *ocf.Request, s settings, h hypervisor, t target) error {
	var last error
	for {
		obs, err := observe(ctx, h, t)
		switch {
		case err != nil:
			last = err
		case obs.active():
			if last = v.runMonitorScripts(ctx, req, s, t.name); last == nil {
				return nil
			}
		case obs.found && obs.info.State == libvirt.StateCrashed:
			return ocf.Errorf(ocf.ErrGeneric, "domain %s crashed while starting", t.name)
		default:
			last = errors.New("state " + obs.info.State.String())
		}
		if deadline.Sleep(ctx, v.poll) != nil {
			return ocf.Errorf(ocf.ErrGeneric, "domain %s is not running yet: %v", t.name, last)
		}
	}
}

// ensureResources starts the storage pools and virtual networks the domain
// uses (start_resources).
func ensureResources(ctx context.Context, h hypervisor, cfg *domainConfig) error {
	for _, p := range cfg.StoragePools {
		if err := h.EnsureStoragePoolActive(ctx, p); err != nil {
			return ocf.Errorf(ocf.ErrGeneric, "failed to start required virtual storage pool %s: %v", p, err)
		}
	}
	for _, n := range cfg.Networks {
		if err := h.EnsureNetworkActive(ctx, n); err != nil {
			return ocf.Errorf(ocf.ErrGeneric, "failed to start required virtual network %s: %v", n, err)
		}
	}
	return nil
}
