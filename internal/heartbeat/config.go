package heartbeat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/files"
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

// Defaults and bounds. See the agent's documentation for why these values.
const (
	MinInterval        = 100 * time.Millisecond
	MaxInterval        = time.Minute
	MaxTimeout         = 10 * time.Minute
	MinWatchdogTimeout = time.Second
	MaxWatchdogTimeout = 10 * time.Minute

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

// FieldError is a configuration error about one field. Field is the field's JSON name,
// which is also the name of HostHeartbeat's parameter that sets it, so that the agent can
// say which parameter to fix.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Validate checks the configuration and returns the parsed backends. Every error is a
// *FieldError (several are joined).
func (c *Config) Validate() ([]Spec, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	wrap := func(field string, err error) {
		if err != nil {
			errs = append(errs, &FieldError{Field: field, Err: err})
		}
	}
	if !ValidNodeName(c.Node) {
		bad("node", "%q: letters, digits, '.', '_' and '-', at most 64", agentlog.Clip(c.Node))
	}
	specs, err := ParseBackends(strings.Join(c.Backends, " "))
	wrap("backends", err)
	iv, to, wd := c.Interval.D(), c.Timeout.D(), c.WatchdogTimeout.D()
	switch {
	case iv < MinInterval:
		bad("interval", "%s is too short (at least %s)", iv, MinInterval)
	case iv > MaxInterval:
		bad("interval", "%s is too long (at most %s)", iv, MaxInterval)
	case to > MaxTimeout:
		bad("timeout", "%s is too long (at most %s)", to, MaxTimeout)
	case to < 2*iv:
		bad("timeout", "%s must be at least twice the interval %s", to, iv)
	}
	if c.WatchdogDevice != "none" {
		switch {
		case wd < MinWatchdogTimeout:
			bad("watchdog_timeout", "%s is too short (at least %s)", wd, MinWatchdogTimeout)
		case wd > MaxWatchdogTimeout:
			bad("watchdog_timeout", "%s is too long (at most %s)", wd, MaxWatchdogTimeout)
		}
	}
	_, err = parseWatchdog(c.WatchdogDevice)
	wrap("watchdog_device", err)
	_, err = parseSelfFence(c.SelfFence)
	wrap("self_fence", err)
	if c.StorageAttribute != "" && !attrNameRE.MatchString(c.StorageAttribute) {
		bad("storage_attribute", "%q: letters, digits, '_', '-', '.' and ':'", agentlog.Clip(c.StorageAttribute))
	}
	if !filepath.IsAbs(c.StateDir) {
		bad("state_dir", "%q must be an absolute path", agentlog.Clip(c.StateDir))
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

// Write writes c to its ConfigPath atomically and durably, mode 0600.
func (c *Config) Write() error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return files.WriteAtomic(c.ConfigPath(), append(data, '\n'), 0o600)
}

// Bounds of a configuration read: the file is a few hundred bytes; the path may come from
// an operator's flag (a FIFO, /dev/zero, a file on a hung mount).
const (
	maxConfigSize     = 1 << 20
	configReadTimeout = 5 * time.Second
)

// ReadConfig reads a configuration file: a regular file of at most 1 MiB, read within 5 s.
func ReadConfig(path string) (*Config, error) {
	ctx, cancel := context.WithTimeout(context.Background(), configReadTimeout)
	defer cancel()
	data, err := files.Read(ctx, path, maxConfigSize)
	if err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}
