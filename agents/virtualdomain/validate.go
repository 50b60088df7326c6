package virtualdomain

import (
	"context"
	"os"
	"os/exec"

	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// validate checks what the runtime's parameter type checks cannot. It runs
// before validate-all, start, monitor and the migrations (never before
// stop). Parameters kvmha does not honour are named plainly.
func (v *vd) validate(ctx context.Context, req *ocf.Request) error {
	s := readSettings(req, v.defaultURI)
	configured := func(format string, args ...any) error { return ocf.Errorf(ocf.ErrConfigured, format, args...) }

	if s.forceStop && s.snapshotDir != "" {
		return configured("the 'force_stop' and 'snapshot' options can not be used together")
	}
	if s.stateless && s.backingFile == "" {
		return configured("stateless functionality can't be achieved without a backing file")
	}
	notHonoured := map[string]bool{pBackingFile: s.backingFile != "", pStateless: s.stateless, pCopyInDirs: s.copyInDirs != ""}
	for _, name := range []string{pBackingFile, pStateless, pCopyInDirs} {
		if notHonoured[name] {
			return configured("parameter %s is not honoured by ocf:kvmha:VirtualDomain: it builds a local qcow2 "+
				"overlay, and kvmha keeps guests on RBD; remove it (or use ocf:heartbeat:VirtualDomain)", name)
		}
	}
	if _, err := libvirt.ParseShutdownMode(s.shutdownMode); err != nil {
		return configured("shutdown_mode: %v", err)
	}
	if s.migrationSpeed < 0 {
		return configured("migration_speed has to be a decimal value")
	}
	if s.migrationDowntime < 0 {
		return configured("migration_downtime has to be a decimal value")
	}
	if s.migratePort < 0 || s.migratePort > 65535 {
		return configured("migrateport %d is not a TCP port", s.migratePort)
	}
	if err := libvirt.CheckURI(s.uri); err != nil {
		return configured("hypervisor: %v", err)
	}
	if _, err := parseMigrateOptions(s.migrateOptions); err != nil {
		// Only a migration needs them: other actions go on.
		if req.Action() == ocf.ActionValidateAll || req.Action() == ocf.ActionMigrateTo {
			return configured("%v", err)
		}
		req.Log.Warnf("%v", err)
	}
	if s.syncConfig {
		if _, err := exec.LookPath("csync2"); err != nil {
			return ocf.Errorf(ocf.ErrInstalled, "sync_config_on_stop needs csync2, which is not installed")
		}
	}
	for _, f := range []struct{ name, path string }{{pCephConf, s.cephConf}, {pCephKeyring, s.cephKeyring}} {
		if f.path == "" {
			continue
		}
		if file, err := os.Open(f.path); err != nil {
			return ocf.Errorf(ocf.ErrInstalled, "%s %s is not readable: %v", f.name, f.path, unwrapPathError(err))
		} else {
			file.Close()
		}
	}

	df, err := v.readDomainFile(s.configPath)
	if err != nil {
		// A monitor can still check a domain this node started (see monitorTarget).
		if _, remembered := v.recall(req); remembered && req.Action() == ocf.ActionMonitor && ocf.CodeOf(err) == ocf.ErrInstalled {
			return nil
		}
		return err
	}
	if s.cephKeyring != "" && s.cephUser != "" {
		for _, d := range df.cfg.RBDDisks {
			if d.AuthUser != "" && d.AuthUser != s.cephUser && (d.Secret.UUID != "" || d.Secret.Usage != "") {
				return configured("disk %s authenticates as client.%s, but ceph_user is %s: its secret would get the wrong key",
					d.Target, d.AuthUser, s.cephUser)
			}
		}
	}
	return nil
}
