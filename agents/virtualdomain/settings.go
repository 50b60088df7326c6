package virtualdomain

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// settings are the resource parameters in typed form.
type settings struct {
	configPath string
	uri        string
	forceStop  bool

	migrationTransport string
	migrationUser      string
	migrationDowntime  int
	migrationSpeed     int
	migrationNetSuffix string
	migrateURI         string
	migrateOptions     string
	migratePort        int // 0: pick a random port when one is needed
	remoteURI          string

	monitorScripts []string
	autoset        utilizationFlags
	unset          utilizationFlags

	saveConfig  bool
	syncConfig  bool
	snapshotDir string

	backingFile string
	stateless   bool
	copyInDirs  string

	shutdownMode   string
	startResources bool
	cephConf       string
	cephUser       string
	cephKeyring    string
	cephMonHost    string
}

// utilizationFlags holds one boolean per utilization attribute.
type utilizationFlags struct{ cpu, hostMemory, hvMemory bool }

// readSettings reads every parameter; values were type-checked by the
// runtime already.
func readSettings(req *ocf.Request, defaultURI func() string) settings {
	s := settings{
		configPath:         req.String(pConfig),
		uri:                req.String(pHypervisor),
		forceStop:          req.Bool(pForceStop),
		migrationTransport: req.String(pMigrationTransport),
		migrationUser:      req.String(pMigrationUser),
		migrationDowntime:  req.Int(pMigrationDowntime),
		migrationSpeed:     req.Int(pMigrationSpeed),
		migrationNetSuffix: req.String(pMigrationNetSuffix),
		migrateURI:         req.String(pMigrateURI),
		migrateOptions:     req.String(pMigrateOptions),
		migratePort:        req.Int(pMigratePort),
		remoteURI:          req.String(pRemoteURI),
		monitorScripts:     strings.Fields(req.String(pMonitorScripts)),
		autoset: utilizationFlags{req.Bool(pAutosetCPU), req.Bool(pAutosetHostMemory),
			req.Bool(pAutosetHVMemory)},
		unset: utilizationFlags{req.Bool(pUnsetCPU), req.Bool(pUnsetHostMemory),
			req.Bool(pUnsetHVMemory)},
		saveConfig:     req.Bool(pSaveConfigOnStop) || req.Bool(pSyncConfigOnStop),
		syncConfig:     req.Bool(pSyncConfigOnStop),
		snapshotDir:    req.String(pSnapshot),
		backingFile:    req.String(pBackingFile),
		stateless:      req.Bool(pStateless),
		copyInDirs:     req.String(pCopyInDirs),
		shutdownMode:   req.String(pShutdownMode),
		startResources: req.Bool(pStartResources),
		cephConf:       req.String(pCephConf),
		cephUser:       strings.TrimPrefix(req.String(pCephUser), "client."),
		cephKeyring:    req.String(pCephKeyring),
		cephMonHost:    req.String(pCephMonHost),
	}
	if s.uri == "" {
		s.uri = defaultURI()
	}
	return s
}

// shutdownFlags parses shutdown_mode (checked before any action uses it).
func (s settings) shutdownFlags() libvirt.ShutdownMode {
	mode, _ := libvirt.ParseShutdownMode(s.shutdownMode)
	return mode
}

// checkStopSettings checks what stop uses besides the config file (which
// has its own fallback): an error makes stop fall back on this node's
// record, or succeed when there is none.
func checkStopSettings(s settings) error {
	if err := checkHypervisor(s.uri); err != nil {
		return err
	}
	if s.snapshotDir != "" && !filepath.IsAbs(s.snapshotDir) {
		// libvirtd would save the guest's memory relative to its own
		// working directory.
		return ocf.ParamErrorf(pSnapshot, "%s is not an absolute path", agentlog.Clip(s.snapshotDir))
	}
	return checkShutdownMode(s.shutdownMode)
}

// checkHypervisor: the URI must be one the agent can connect to. libvirt's
// message quotes the URI whole; it is clipped here.
func checkHypervisor(uri string) error {
	if err := libvirt.CheckURI(uri); err != nil {
		return ocf.ParamErrorf(pHypervisor, "%s", clipQuoted(err.Error(), uri))
	}
	return nil
}

// checkShutdownMode names the first mode libvirt does not know.
func checkShutdownMode(modes string) error {
	for _, part := range strings.Split(modes, ",") {
		if _, err := libvirt.ParseShutdownMode(part); err != nil {
			return ocf.ParamErrorf(pShutdownMode, "unknown mode \"%s\" (use acpi, agent, initctl, signal or paravirt)",
				agentlog.Clip(strings.TrimSpace(part)))
		}
	}
	return nil
}

// clipQuoted replaces value, quoted as %q quotes it, by its clipped form in
// a message from elsewhere.
func clipQuoted(msg, value string) string {
	return strings.ReplaceAll(msg, strconv.Quote(value), `"`+agentlog.Clip(value)+`"`)
}
