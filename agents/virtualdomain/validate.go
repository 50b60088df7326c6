package virtualdomain

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/hostcmd"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// Size limits of the Ceph files checked; real ones are a few KiB and a few
// hundred bytes.
const (
	maxCephConfSize = 4 << 20
	maxKeyringSize  = 64 << 10
)

// transportPattern is what migration_transport may hold: a libvirt
// transport name, which becomes part of a URI scheme.
var transportPattern = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

// validate checks what the runtime's parameter type checks cannot. It runs
// before validate-all, start, monitor and the migrations (never before
// stop). Every error names the parameter; parameters kvmha does not honour
// are named plainly.
//
// A monitor on a node whose record says it started the domain is not
// stopped by an unusable configuration: the domain may run, and "not
// running" would get it started elsewhere as well. A config file that
// cannot be read sends monitor to the record's domain (monitorTarget); a
// probe with other unusable parameters judges that domain by the record
// alone (monitorRecorded).
func (v *vd) validate(ctx context.Context, req *ocf.Request) error {
	s := readSettings(req, v.defaultURI)
	err := v.validateSettings(ctx, req, s)
	if err == nil || !isMonitorAction(req.Action()) || !v.hasRecord(req) {
		return err
	}
	switch ocf.CodeOf(err) {
	case ocf.ErrConfigured, ocf.ErrInstalled, ocf.ErrArgs:
	default:
		return err
	}
	if v.configRead.err != nil && err == v.configRead.err {
		return nil
	}
	if req.IsProbe() {
		v.unusable = err
		return nil
	}
	return err
}

func isMonitorAction(action string) bool {
	return action == ocf.ActionMonitor || action == ocf.ActionStatus
}

// validateSettings runs the checks; those about what only some actions use
// (Ceph files, the snapshot folder, csync2, the monitor scripts' programs)
// run for validate-all and those actions alone, so that a monitor does not
// fail a running guest over a file only start reads.
func (v *vd) validateSettings(ctx context.Context, req *ocf.Request, s settings) error {
	action := req.Action()
	all := action == ocf.ActionValidateAll
	starting := all || action == ocf.ActionStart

	if s.forceStop && s.snapshotDir != "" {
		return ocf.ParamErrorf(pSnapshot, "can not be used together with force_stop")
	}
	if s.stateless && s.backingFile == "" {
		return ocf.ParamErrorf(pStateless, "stateless functionality can't be achieved without a backing file")
	}
	notHonoured := map[string]bool{pBackingFile: s.backingFile != "", pStateless: s.stateless, pCopyInDirs: s.copyInDirs != ""}
	for _, name := range []string{pBackingFile, pStateless, pCopyInDirs} {
		if notHonoured[name] {
			return ocf.ParamErrorf(name, "not honoured by ocf:kvmha:VirtualDomain, which keeps guests on RBD "+
				"(no local qcow2 overlay): remove it")
		}
	}
	if err := checkShutdownMode(s.shutdownMode); err != nil {
		return err
	}
	if s.migrationSpeed < 0 {
		return ocf.ParamErrorf(pMigrationSpeed, "%d is negative (MiB/s; 0 means unlimited)", s.migrationSpeed)
	}
	if s.migrationDowntime < 0 {
		return ocf.ParamErrorf(pMigrationDowntime, "%d is negative (milliseconds; 0 keeps libvirt's default)", s.migrationDowntime)
	}
	if s.migratePort < 0 || s.migratePort > 65535 {
		return ocf.ParamErrorf(pMigratePort, "%d is not a TCP port", s.migratePort)
	}
	if err := checkHypervisor(s.uri); err != nil {
		return err
	}
	if all || starting {
		// The files the dial reads (an ssh URI's key and known hosts, a
		// TLS URI's pkipath): named here rather than as an unreachable
		// libvirtd. Monitors and migrations let the dial report them.
		warnings, err := libvirt.CheckFiles(ctx, s.uri, libvirt.DialOptions{})
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission), errors.Is(err, files.ErrTimedOut),
			errors.Is(err, libvirt.ErrNoSSHIdentity):
			// Missing or unreadable here: another node may have it.
			return ocf.Errorf(ocf.ErrInstalled, "%s: %s", pHypervisor, clipQuoted(err.Error(), s.uri))
		case err != nil:
			return ocf.ParamErrorf(pHypervisor, "%s", clipQuoted(err.Error(), s.uri))
		}
		for _, w := range warnings {
			req.Log.Warnf("%s: %s", pHypervisor, w)
		}
	}
	if s.migrationTransport != "" && !transportPattern.MatchString(s.migrationTransport) && (all || action == ocf.ActionMigrateTo) {
		return ocf.ParamErrorf(pMigrationTransport, "\"%s\" is not a libvirt transport name (tcp, tls, ...)", agentlog.Clip(s.migrationTransport))
	}
	if _, err := parseMigrateOptions(s.migrateOptions); err != nil {
		// Only a migration needs them: other actions go on.
		if all || action == ocf.ActionMigrateTo {
			return err
		}
		req.Log.Warnf("%v", err)
	}
	if starting && s.syncConfig {
		if _, err := hostcmd.Lookup("csync2"); err != nil {
			return ocf.Errorf(ocf.ErrInstalled, "%s: needs csync2, which is not installed", pSyncConfigOnStop)
		}
	}
	if starting || action == ocf.ActionMigrateTo {
		if err := checkCephFiles(ctx, s); err != nil {
			return err
		}
	}
	if starting {
		if err := checkSnapshotDir(ctx, s.snapshotDir); err != nil {
			return err
		}
	}
	if starting || action == ocf.ActionMigrateFrom {
		if err := checkMonitorScripts(ctx, s.monitorScripts); err != nil {
			return err
		}
	}

	df, err := v.readDomainFile(ctx, s.configPath)
	if err != nil {
		return err
	}
	if s.cephKeyring != "" && s.cephUser != "" {
		for _, d := range df.cfg.RBDDisks {
			if d.AuthUser != "" && d.AuthUser != s.cephUser && (d.Secret.UUID != "" || d.Secret.Usage != "") {
				return ocf.ParamErrorf(pCephUser, "disk %s authenticates as client.%s, but ceph_user is %s: its secret would get the wrong key",
					d.Target, d.AuthUser, agentlog.Clip(s.cephUser))
			}
		}
	}
	return nil
}

// checkCephFiles reads ceph_conf and ceph_keyring as the RBD checks will
// (librados, the secret's key), bounded in size and time: librados would
// block on a FIFO or a hung mount, and read /dev/zero until memory runs out.
func checkCephFiles(ctx context.Context, s settings) error {
	for _, f := range []struct {
		param, path string
		limit       int64
	}{{pCephConf, s.cephConf, maxCephConfSize}, {pCephKeyring, s.cephKeyring, maxKeyringSize}} {
		if f.path == "" {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, fileWait(ctx))
		_, err := files.Read(rctx, f.path, f.limit)
		cancel()
		if err != nil {
			return fileError(f.param, f.path, err)
		}
	}
	return nil
}

// checkSnapshotDir: the snapshot folder, when set, is an absolute path to a
// directory (start restores from it, stop saves into it).
func checkSnapshotDir(ctx context.Context, dir string) error {
	if dir == "" {
		return nil
	}
	shown := agentlog.Clip(dir)
	if !filepath.IsAbs(dir) {
		return ocf.ParamErrorf(pSnapshot, "%s is not an absolute path", shown)
	}
	info, err := statWithin(ctx, dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ocf.Errorf(ocf.ErrInstalled, "%s: directory %s does not exist", pSnapshot, shown)
	case err != nil:
		return ocf.Errorf(ocf.ErrInstalled, "%s: %s: %v", pSnapshot, shown, files.Cause(err))
	case !info.IsDir():
		return ocf.ParamErrorf(pSnapshot, "%s is not a directory", shown)
	}
	return nil
}

// checkMonitorScripts: every program monitor_scripts names exists and can
// be run (a name without a slash is looked up as runCommand will: in PATH,
// then in the system folders).
func checkMonitorScripts(ctx context.Context, scripts []string) error {
	for _, script := range scripts {
		shown := agentlog.Clip(script)
		if !strings.Contains(script, "/") {
			if _, err := hostcmd.Lookup(script); err != nil {
				return ocf.Errorf(ocf.ErrInstalled, "%s: program %s is not in PATH nor in the system folders", pMonitorScripts, shown)
			}
			continue
		}
		if !filepath.IsAbs(script) {
			return ocf.ParamErrorf(pMonitorScripts, "%s is not an absolute path", shown)
		}
		info, err := statWithin(ctx, script)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return ocf.Errorf(ocf.ErrInstalled, "%s: %s does not exist", pMonitorScripts, shown)
		case err != nil:
			return ocf.Errorf(ocf.ErrInstalled, "%s: %s: %v", pMonitorScripts, shown, files.Cause(err))
		case !info.Mode().IsRegular():
			return ocf.ParamErrorf(pMonitorScripts, "%s is not a regular file", shown)
		case info.Mode().Perm()&0o111 == 0:
			return ocf.ParamErrorf(pMonitorScripts, "%s is not executable", shown)
		}
	}
	return nil
}
