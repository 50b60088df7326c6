package hostheartbeat

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/ocf"
)

// Parameter names.
const (
	pBackends        = "backends"
	pInterval        = "interval"
	pTimeout         = "timeout"
	pWatchdogDevice  = "watchdog_device"
	pWatchdogTimeout = "watchdog_timeout"
	pSelfFence       = "self_fence"
	pAttribute       = "storage_attribute"
	pCephConf        = "ceph_conf"
	pCephUser        = "ceph_user"
	pCephKeyring     = "ceph_keyring"
	pLibvirtURI      = "libvirt_uri"
	pStateDir        = "state_dir"
	pBinary          = "kvmha_binary"
)

var params = []ocf.Param{
	{Name: pBackends, Type: ocf.TypeString, Required: true,
		ShortDesc: "Backend URIs: rados://pool[/namespace], file:///dir, block:///dev/device",
		LongDesc:  "One or more backends, separated by spaces or commas. Every host of the cluster must list the same ones."},
	{Name: pInterval, Type: ocf.TypeInteger, Default: "1",
		ShortDesc: "Seconds between beats"},
	{Name: pTimeout, Type: ocf.TypeInteger, Default: "5",
		ShortDesc: "Seconds without a quorum of backends after which the watchdog is no longer fed",
		LongDesc:  "At least twice the interval. Raise it above the longest write stall the backends can have while healthy."},
	{Name: pWatchdogDevice, Type: ocf.TypeString, Default: heartbeat.DefaultWatchdogDevice,
		ShortDesc: "Watchdog device, or none (then staleness proves nothing: fencing needs the host's acknowledgement)",
		LongDesc:  "A Linux watchdog device (softdog, iTCO_wdt, ipmi_watchdog). none disables it. file:PATH is a test stand-in: PATH (%n is the node name) is rewritten at every feed and removed when disarmed, for a harness that resets the node when the file gets old."},
	{Name: pWatchdogTimeout, Type: ocf.TypeInteger, Default: "5",
		ShortDesc: "Watchdog timeout in seconds"},
	{Name: pSelfFence, Type: ocf.TypeString, Default: heartbeat.SelfFenceMessage,
		ShortDesc: "How a fence message is carried out: message, reboot, off, or exec:/path",
		LongDesc:  "message: sysrq reboot or power-off, as the message asks; reboot or off: always that; exec:/path runs /path NODE off|reboot (for test labs whose nodes are not machines)."},
	{Name: pAttribute, Type: ocf.TypeString, Default: "kvmha-storage",
		ShortDesc: "Node attribute set to 1 while every backend takes the record, 0 otherwise (none: no attribute)"},
	{Name: pCephConf, Type: ocf.TypeString, Default: "/etc/ceph/ceph.conf",
		ShortDesc: "Ceph configuration file (rados:// backends)"},
	{Name: pCephUser, Type: ocf.TypeString, Default: "admin",
		ShortDesc: "cephx user id without client. (rados:// backends)",
		LongDesc:  "Needs osd 'allow rw pool=POOL' (namespace= when one is used) on the backends' pools."},
	{Name: pCephKeyring, Type: ocf.TypeString,
		ShortDesc: "Keyring file of ceph_user (default: librados' search path)"},
	{Name: pLibvirtURI, Type: ocf.TypeString, Default: "qemu:///system",
		ShortDesc: "libvirt URI whose running guests the record lists, or none"},
	{Name: pStateDir, Type: ocf.TypeString, Default: heartbeat.DefaultStateDir,
		ShortDesc: "Directory of the daemon's configuration, pid, state and log files"},
	{Name: pBinary, Type: ocf.TypeString, Default: "/usr/sbin/kvmha",
		ShortDesc: "The kvmha command that runs the daemon"},
}

// config builds the daemon's configuration from the parameters. Every error is
// ErrConfigured naming the parameter at fault.
func config(req *ocf.Request) (*heartbeat.Config, error) {
	node := req.Meta("on_node")
	if node == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, ocf.Errorf(ocf.ErrGeneric, "cannot find this node's name: %v", err)
		}
		node, _, _ = strings.Cut(h, ".")
	}
	libvirtURI := req.String(pLibvirtURI)
	if libvirtURI == "none" {
		libvirtURI = ""
	}
	// An empty value means the default (see ocf.Request.String): "none" sets no attribute.
	attribute := req.String(pAttribute)
	if attribute == "none" {
		attribute = ""
	}
	var durs [3]heartbeat.Duration
	for i, p := range []struct {
		name string
		max  time.Duration
	}{{pInterval, heartbeat.MaxInterval}, {pTimeout, heartbeat.MaxTimeout}, {pWatchdogTimeout, heartbeat.MaxWatchdogTimeout}} {
		d, err := seconds(req, p.name, p.max)
		if err != nil {
			return nil, err
		}
		durs[i] = d
	}
	cfg := &heartbeat.Config{
		Node:             node,
		Backends:         strings.Fields(strings.ReplaceAll(req.String(pBackends), ",", " ")),
		Interval:         durs[0],
		Timeout:          durs[1],
		WatchdogDevice:   req.String(pWatchdogDevice),
		WatchdogTimeout:  durs[2],
		SelfFence:        req.String(pSelfFence),
		StorageAttribute: attribute,
		CephConf:         req.String(pCephConf),
		CephUser:         strings.TrimPrefix(req.String(pCephUser), "client."),
		CephKeyring:      req.String(pCephKeyring),
		LibvirtURI:       libvirtURI,
		StateDir:         req.String(pStateDir),
	}
	if _, err := cfg.Validate(); err != nil {
		return nil, paramError(err)
	}
	if err := checkStateDir(cfg.StateDir); err != nil {
		return nil, err
	}
	return cfg, nil
}

// seconds reads a whole-seconds parameter, refusing what would overflow a Duration (or
// is merely absurd) before multiplying: 9999999999 s must be "too large", not a negative
// duration.
func seconds(req *ocf.Request, name string, max time.Duration) (heartbeat.Duration, error) {
	n, limit := req.Int(name), int(max/time.Second)
	switch {
	case n > limit:
		return 0, ocf.ParamErrorf(name, "%d seconds is too large (at most %d)", n, limit)
	case n < 0:
		return 0, ocf.ParamErrorf(name, "%d seconds is negative", n)
	}
	return heartbeat.Duration(time.Duration(n) * time.Second), nil
}

// paramError turns the configuration's validation errors into one ErrConfigured that
// starts with the parameter at fault (the configuration's fields are named as the
// parameters are) and goes on with every other problem found.
func paramError(err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var fe *heartbeat.FieldError
	if !errors.As(errs[0], &fe) {
		return ocf.Errorf(ocf.ErrConfigured, "%v", err)
	}
	msgs := []string{fe.Err.Error()}
	for _, e := range errs[1:] {
		msgs = append(msgs, e.Error())
	}
	return ocf.ParamErrorf(fe.Field, "%s", strings.Join(msgs, "; "))
}

// checkStateDir refuses a state_dir that exists but is no directory (a file, a FIFO, a
// device) or sits below one: no daemon can have been started with it, which makes stop
// succeed and a probe say "not running", instead of failing on its pid file.
func checkStateDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return ocf.ParamErrorf(pStateDir, "%v", agentlog.Clip(err.Error()))
	case !fi.IsDir():
		return ocf.ParamErrorf(pStateDir, "%q is not a directory (%s)", agentlog.Clip(dir), files.Kind(fi.Mode()))
	}
	return nil
}
