package heartbeat

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Config is what the daemon runs with. HostHeartbeat's start writes it to
// StateDir/heartbeat.conf (mode 0600) and starts "kvmha heartbeat run"
// with that file; "kvmha heartbeat status" reads it too. It holds paths
// only, never a key.
type Config struct {
	Node     string   `json:"node"`
	Backends []string `json:"backends"`
	Interval Duration `json:"interval"`
	Timeout  Duration `json:"timeout"`
	// WatchdogDevice is a watchdog device path, "none", or for tests
	// "file:PATH" (see OpenWatchdog).
	WatchdogDevice  string   `json:"watchdog_device"`
	WatchdogTimeout Duration `json:"watchdog_timeout"`
	// SelfFence is "message" (do what the fence message says), "reboot",
	// "off" (sysrq), or "exec:/path" (a test command).
	SelfFence string `json:"self_fence"`
	// StorageAttribute is the node attribute set to 1 while every backend
	// takes the record and 0 when one does not; "" sets none.
	StorageAttribute string `json:"storage_attribute,omitempty"`
	CephConf         string `json:"ceph_conf,omitempty"`
	CephUser         string `json:"ceph_user,omitempty"`
	CephKeyring      string `json:"ceph_keyring,omitempty"`
	// LibvirtURI is where the guests are listed; "" lists none.
	LibvirtURI string `json:"libvirt_uri,omitempty"`
	StateDir   string `json:"state_dir"`
}

// Duration is a time.Duration written as "1.5s" in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// D is d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Defaults. See the agent's documentation for why these values.
const (
	DefaultInterval        = time.Second
	DefaultTimeout         = 5 * time.Second
	DefaultWatchdogTimeout = 5 * time.Second
	DefaultStateDir        = "/run/kvmha"
	DefaultWatchdogDevice  = "/dev/watchdog"
	// DefaultMargin is added by fencers to a host's timeout and watchdog
	// timeout before its stale record counts as proof.
	DefaultMargin = 2 * time.Second
)

// Node attribute names as attrd takes them.
var attrNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$`)

// Self-fence modes.
const (
	SelfFenceMessage = "message"
	SelfFenceReboot  = "reboot"
	SelfFenceOff     = "off"
	selfFenceExec    = "exec:"
)

// Validate checks the configuration and returns the parsed backends.
func (c *Config) Validate() ([]Spec, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !ValidNodeName(c.Node) {
		bad("node name %q: letters, digits, '.', '_' and '-', at most 64", agentlog.Clip(c.Node))
	}
	specs, err := ParseBackends(strings.Join(c.Backends, " "))
	if err != nil {
		errs = append(errs, err)
	}
	iv, to, wd := c.Interval.D(), c.Timeout.D(), c.WatchdogTimeout.D()
	switch {
	case iv < 100*time.Millisecond || iv > time.Minute:
		bad("interval %s not in 100ms..1m", iv)
	case to < 2*iv:
		bad("timeout %s must be at least twice the interval %s", to, iv)
	case to > 10*time.Minute:
		bad("timeout %s is longer than 10m", to)
	}
	if c.WatchdogDevice != "none" && (wd < time.Second || wd > 10*time.Minute) {
		bad("watchdog timeout %s not in 1s..10m", wd)
	}
	if _, err := parseWatchdog(c.WatchdogDevice); err != nil {
		errs = append(errs, err)
	}
	if _, err := parseSelfFence(c.SelfFence); err != nil {
		errs = append(errs, err)
	}
	if c.StorageAttribute != "" && !attrNameRE.MatchString(c.StorageAttribute) {
		bad("storage attribute %q: letters, digits, '_', '-', '.' and ':'", agentlog.Clip(c.StorageAttribute))
	}
	if !filepath.IsAbs(c.StateDir) {
		bad("state directory %q must be an absolute path", agentlog.Clip(c.StateDir))
	}
	return specs, errors.Join(errs...)
}

// Paths of the daemon's files in its state directory.
func (c *Config) ConfigPath() string { return filepath.Join(c.StateDir, "heartbeat.conf") }
func (c *Config) PIDPath() string    { return filepath.Join(c.StateDir, "heartbeat.pid") }
func (c *Config) StatePath() string  { return StatePath(c.StateDir) }
func (c *Config) LogPath() string    { return filepath.Join(c.StateDir, "heartbeat.log") }

// StatePath is the daemon's state file in dir.
func StatePath(dir string) string { return filepath.Join(dir, "heartbeat.state") }

// ConfigPathIn is the configuration file in dir.
func ConfigPathIn(dir string) string { return filepath.Join(dir, "heartbeat.conf") }

// WriteConfig writes c to its ConfigPath atomically, mode 0600.
func (c *Config) Write() error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(c.ConfigPath(), append(data, '\n'), 0o600)
}

// ReadConfig reads a configuration file.
func ReadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) > 1<<20 {
		return nil, fmt.Errorf("%s: too large", path)
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it over path, so readers see the old or the new content, never a part.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
