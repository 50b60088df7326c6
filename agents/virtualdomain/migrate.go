package virtualdomain

import (
	"context"
	"errors"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/deadline"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// Time held back from migrate_to's budget to abort a migration that has
// not finished, and to wait for the abort to take.
const (
	minAbortReserve = 3 * time.Second
	maxAbortReserve = 15 * time.Second
)

// maxStateWait bounds migrate_to's first question to libvirtd, the domain's state.
const maxStateWait = 10 * time.Second

// migrateTo live-migrates the domain to CRM_meta_migrate_target, peer to
// peer: this node's libvirtd connects to the target's itself. A migration
// still running shortly before the deadline is aborted, which leaves the
// guest running here.
func (v *vd) migrateTo(ctx context.Context, req *ocf.Request) error {
	targetNode := req.Meta("migrate_target")
	if targetNode == "" {
		return ocf.Errorf(ocf.ErrArgs, "migrate_to needs a migration target (CRM_meta_migrate_target is not set)")
	}
	s := readSettings(req, v.defaultURI)
	df, err := v.readDomainFile(ctx, s.configPath)
	if err != nil {
		return err
	}
	t := targetOf(df, s.uri)
	plan, err := planMigration(s, targetNode, defaultRandomPort)
	if err != nil {
		return err
	}
	h, err := v.dialHypervisor(ctx, s.uri)
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot connect to libvirtd at %s: %v", agentlog.Clip(s.uri), err)
	}
	defer h.Close()
	// libvirtd answers a domain's state in milliseconds; one that cannot within
	// maxStateWait is stuck behind the domain's qemu (storage lost), and the migration
	// would wait out the whole action: fail now, so that Pacemaker recovers the guest
	// while it still counts the failure (found by the campaign: a migrate_to that took
	// its whole 2 minutes outlived failure-timeout, Pacemaker 2.1.5 forgot the failure at
	// once, and the stuck guest was left without monitors).
	sctx, cancel := context.WithTimeout(ctx, min(deadline.Remaining(ctx)/4, maxStateWait))
	obs, err := observe(sctx, h, t)
	cancel()
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot get the state of domain %s: %v", t.name, err)
	}
	if !obs.active() {
		return ocf.Errorf(ocf.ErrGeneric, "%s: migrate_to: not active locally", t.name)
	}
	if s.saveConfig {
		v.saveConfig(ctx, req, s, h, obs.dom, df)
	}
	if err := v.prepareTarget(ctx, req, s, plan, df.cfg); err != nil {
		return err
	}
	req.Log.Infof("%s: starting live migration to %s (libvirtd %s, data %s)", t.name, targetNode, plan.destURI, orDefault(plan.migrateURI))
	if err := v.migrate(ctx, req, s, h, obs.dom, plan); err != nil {
		return err
	}
	req.Log.Infof("%s: live migration to %s succeeded", t.name, targetNode)
	v.dropRecord(req) // the domain runs on the target now; its record is there
	return nil
}

// prepareTarget does on the target's libvirtd what must precede the
// migration: start pools and networks (start_resources) and store the Ceph
// key in the domain's secrets (ceph_user, ceph_keyring). The agent connects
// to the target itself for this, over the transports it supports.
func (v *vd) prepareTarget(ctx context.Context, req *ocf.Request, s settings, plan migrationPlan, cfg *domainConfig) error {
	needSecrets := s.cephUser != "" && s.cephKeyring != "" && len(secretRefs(cfg)) > 0
	if !s.startResources && !needSecrets {
		return nil
	}
	dctx, cancel := context.WithTimeout(ctx, deadline.Remaining(ctx)/4)
	remote, err := v.dialHypervisor(dctx, plan.destURI)
	cancel()
	if err != nil {
		if s.startResources {
			return ocf.Errorf(ocf.ErrGeneric, "cannot connect to the target's libvirtd %s to start its resources: %v", plan.destURI, err)
		}
		req.Log.Warnf("cannot connect to the target's libvirtd %s (%v): its Ceph secrets are not refreshed", plan.destURI, err)
		return nil
	}
	defer remote.Close()
	if s.startResources {
		if err := ensureResources(ctx, remote, cfg); err != nil {
			return err
		}
	}
	if needSecrets {
		if err := v.ensureCephSecrets(ctx, req, s, remote, cfg); err != nil {
			return err
		}
	}
	return nil
}

// migrate runs the migration and watches it: it sets the maximum downtime
// once the job runs (libvirt accepts it only then), and aborts the job when
// the deadline nears. The calls made meanwhile are bounded by the action's
// own deadline, not the abort time: a call abandoned on a deadline closes
// the connection, which would cut the migration call short.
func (v *vd) migrate(ctx context.Context, req *ocf.Request, s settings, h hypervisor, dom libvirt.Domain, plan migrationPlan) error {
	spec := libvirt.MigrateSpec{DestURI: plan.destURI, MigrateURI: plan.migrateURI,
		BandwidthMiBs: uint64(max(s.migrationSpeed, 0)), Flags: plan.flags}
	done := make(chan error, 1)
	go func() { done <- h.Migrate(ctx, dom, spec) }()

	abortAt, cancel := earlier(ctx, reserveFor(ctx, minAbortReserve, maxAbortReserve))
	defer cancel()
	downtimeSet := s.migrationDowntime <= 0
	tick := time.NewTicker(v.poll)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return ocf.Errorf(ocf.ErrGeneric, "%s: live migration to %s failed: %v", dom.Name, plan.targetNode, err)
			}
			return nil
		case <-abortAt.Done():
			return v.abortMigration(ctx, req, h, dom, plan, done)
		case <-tick.C:
			if downtimeSet {
				continue
			}
			job, err := h.JobProgress(ctx, dom)
			if err != nil || !job.Active {
				continue
			}
			req.Log.Infof("%s: setting live migration downtime to %d ms", dom.Name, s.migrationDowntime)
			if err := h.SetMigrationMaxDowntime(ctx, dom, uint64(s.migrationDowntime)); err != nil {
				req.Log.Warnf("%s: cannot set migration downtime: %v", dom.Name, err)
			}
			downtimeSet = true
		}
	}
}

// abortMigration cancels a migration that did not finish in time and waits
// for libvirt to report the outcome: the guest keeps running here unless
// the migration completed after all.
func (v *vd) abortMigration(ctx context.Context, req *ocf.Request, h hypervisor, dom libvirt.Domain, plan migrationPlan, done <-chan error) error {
	req.Log.Warnf("%s: live migration to %s has not finished before the deadline; aborting it", dom.Name, plan.targetNode)
	if err := h.AbortJob(ctx, dom); err != nil && !errors.Is(err, libvirt.ErrInvalidOperation) {
		req.Log.Warnf("%s: abort of the migration failed: %v", dom.Name, err)
	}
	select {
	case err := <-done:
		if err == nil {
			req.Log.Infof("%s: the migration completed before the abort took effect", dom.Name)
			return nil
		}
		return ocf.Errorf(ocf.ErrGeneric, "%s: live migration to %s did not finish in time and was aborted; the domain still runs here", dom.Name, plan.targetNode)
	case <-ctx.Done():
		return ocf.Errorf(ocf.ErrGeneric, "%s: live migration to %s did not finish in time and libvirtd did not confirm its abort", dom.Name, plan.targetNode)
	}
}

// migrateFrom confirms on the target that the migrated domain runs here,
// and, with the heartbeat parameter, that no third host runs it or writes
// to its disks.
func (v *vd) migrateFrom(ctx context.Context, req *ocf.Request) error {
	source := req.Meta("migrate_source")
	if source == "" {
		return ocf.Errorf(ocf.ErrArgs, "migrate_from needs a migration source (CRM_meta_migrate_source is not set)")
	}
	s := readSettings(req, v.defaultURI)
	df, err := v.readDomainFile(ctx, s.configPath)
	if err != nil {
		return err
	}
	t := targetOf(df, s.uri)
	// The domain arrives here: a stop must find it from now on, even if
	// this action fails.
	if err := v.saveRecord(req, t); err != nil {
		req.Log.Warnf("%v", err)
	}
	h, err := v.dialHypervisor(ctx, s.uri)
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot connect to libvirtd at %s: %v", agentlog.Clip(s.uri), err)
	}
	defer h.Close()
	// The source's record lists the domain until its next beat: only the
	// other hosts are looked at.
	if err := v.guardStart(ctx, req, s, h, df, t.uuid, []string{source}, "failing the migration of domain "+t.name+" to this node"); err != nil {
		return err
	}
	if err := v.waitRunning(ctx, req, s, h, t); err != nil {
		return err
	}
	req.Log.Infof("%s: live migration from %s succeeded", t.name, source)
	if s.saveConfig {
		if obs, err := observe(ctx, h, t); err == nil && obs.found {
			v.saveConfig(ctx, req, s, h, obs.dom, df)
		}
	}
	return nil
}

func orDefault(uri string) string {
	if uri == "" {
		return "chosen by libvirt"
	}
	return uri
}
