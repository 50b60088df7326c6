// Package fencekvmha is fence_kvmha: fencing through the storage heartbeat
// of ocf:kvmha:HostHeartbeat. off and reboot leave a fence message in the
// target's slot on every backend and succeed only when the target
// acknowledged it (it then fences itself), rebooted, or when its record has
// been stale for longer than its timeout plus its watchdog timeout plus a
// margin on enough backends that its watchdog has provably reset it.
package fencekvmha

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/fence"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/radosbackend"
)

// Option names.
const (
	optBackends = "backends"
	optConf     = "ceph_conf"
	optUser     = "ceph_user"
	optKeyring  = "ceph_keyring"
	optStateDir = "state_dir"
	optMargin   = "margin"
)

const longDesc = `fence_kvmha fences a host through the storage heartbeat that ocf:kvmha:HostHeartbeat keeps on every host (run it as a clone). "off" and "reboot" write a fence message to the target's slot on every backend; the target's heartbeat daemon reads its slot every beat, stops feeding its watchdog, acknowledges in its record, and fences itself (sysrq, or the test command of its self_fence). The action succeeds when that acknowledgement is read, when the target's kernel boot id changed, or when the target's record has not changed for longer than its timeout + its watchdog timeout + margin on enough of its backends that no quorum is left for it: its watchdog has reset it by then. A target that announces no watchdog, or whose heartbeat was stopped cleanly, can only be fenced with its acknowledgement; a target never seen is never reported fenced.

Staleness is timed on this host's monotonic clock. When this host runs HostHeartbeat too, its daemon's observations (in state_dir) let the clock start when the target's record last changed rather than when fencing began, which takes seconds off the fencing of a dead host.

"status" is OFF when the target is proven fenced, ON when its record was seen (fresh or not yet proven stale). "on" does nothing and succeeds (a host fenced this way comes back by itself or through a power device); it lets Pacemaker unfence through a fencing level that holds fence_kvmha next to fence_rbd. "list" prints the hosts registered on the backends. "monitor" succeeds when a quorum of the backends can be listed.

Use the same backends as HostHeartbeat. For rados:// backends the cephx user needs read and write access to the pool (osd 'allow rw pool=POOL'); the key is read from the keyring file by librados, never from a command line.`

// New returns the fence_kvmha agent.
func New() *fence.Agent { return newAgent(productionDeps()) }

// deps is what fence_kvmha takes from outside its process; tests fill it with fakes.
type deps struct {
	// opener opens the backends with the Ceph settings of the options (rados:// ones
	// with librados; tests use in-memory ones).
	opener func(ceph.Config) heartbeat.Opener
}

// productionDeps opens the backends on this host.
func productionDeps() deps {
	return deps{opener: func(cfg ceph.Config) heartbeat.Opener { return radosbackend.Opener(cfg, 5*time.Second) }}
}

// newAgent returns the agent on d.
func newAgent(d deps) *fence.Agent {
	f := &fencer{deps: d}
	return &fence.Agent{
		Name:            "fence_kvmha",
		ShortDesc:       "Fence agent for KVM hosts through the kvmha storage heartbeat (poison pill and watchdog)",
		LongDesc:        longDesc,
		VendorURL:       "https://github.com/kvmha/kvmha",
		Version:         version,
		PlugDescription: "Node to fence, as named in its heartbeat (the Pacemaker node name)",
		Options: []fence.Option{
			{Name: optBackends, Type: fence.String, Required: true, Placeholder: "uris",
				Description: "Heartbeat backends, as in HostHeartbeat: rados://pool[/namespace] file:///dir block:///dev/device"},
			{Name: optConf, Type: fence.String, Default: "/etc/ceph/ceph.conf", Placeholder: "path",
				Description: "Ceph configuration file (rados:// backends)"},
			{Name: optUser, Type: fence.String, Default: "admin", Placeholder: "id",
				Description: "cephx user id, without client."},
			{Name: optKeyring, Type: fence.String, Placeholder: "path",
				Description: "Keyring file with the user's key (default: librados' search path)"},
			{Name: optStateDir, Type: fence.String, Default: heartbeat.DefaultStateDir, Placeholder: "dir",
				Description: "State directory of this host's heartbeat daemon, whose observations are used when fresh"},
			{Name: optMargin, Type: fence.Second, Default: "2",
				Description: "Seconds added to the target's timeout and watchdog timeout before its stale record counts"},
		},
		Status:   f.status,
		On:       f.on,
		Off:      f.off,
		Reboot:   f.reboot,
		List:     f.list,
		Monitor:  f.monitor,
		Validate: f.validate,
	}
}

// version is the agent's version string; the build may override it.
var version = "0.1"

// fencer keeps the backends and observations of one run: a status poll
// after off goes on from what off saw.
type fencer struct {
	deps
	f *heartbeat.Fencer
}

// validate checks the options before every action. The Ceph files are
// read bounded before librados reads them (ceph.CheckConfFile): when a
// rados:// backend needs them, or when they were set (a path given on
// purpose must be usable even if no backend uses it yet).
func (f *fencer) validate(ctx context.Context, r *fence.Request) error {
	v := r.Values
	specs, err := heartbeat.ParseBackends(v.Get(optBackends))
	if err != nil {
		return fmt.Errorf("backends: %w", err)
	}
	if r.Plug != "" && !heartbeat.ValidNodeName(r.Plug) {
		return fmt.Errorf("plug %q is not a node name", agentlog.Clip(r.Plug))
	}
	rados := slices.ContainsFunc(specs, func(s heartbeat.Spec) bool { return s.Scheme == heartbeat.SchemeRADOS })
	if rados || v.IsSet(optConf) {
		if err := ceph.CheckConfFile(ctx, v.Get(optConf)); err != nil {
			return fmt.Errorf("ceph_conf: %w", err)
		}
	}
	if v.IsSet(optKeyring) {
		if err := ceph.CheckKeyringFile(ctx, v.Get(optKeyring)); err != nil {
			return fmt.Errorf("ceph_keyring: %w", err)
		}
	}
	if u := strings.TrimPrefix(v.Get(optUser), "client."); !cephIDRE.MatchString(u) {
		return fmt.Errorf("ceph_user %q is not a cephx id", agentlog.Clip(u))
	}
	// The daemon's observations are optional, but a relative path would be
	// read from wherever the fencer runs: never what was meant.
	if d := v.Get(optStateDir); d != "" && !filepath.IsAbs(d) {
		return fmt.Errorf("state_dir %q is not an absolute path", agentlog.Clip(d))
	}
	return nil
}

// cephx ids as ceph auth accepts them.
var cephIDRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// session opens the backends once per run.
func (f *fencer) session(ctx context.Context, r *fence.Request) (*heartbeat.Fencer, error) {
	if f.f != nil {
		return f.f, nil
	}
	specs, err := heartbeat.ParseBackends(r.Values.Get(optBackends))
	if err != nil {
		return nil, err
	}
	open := f.opener(ceph.Config{
		ConfPath: r.Values.Get(optConf),
		User:     strings.TrimPrefix(r.Values.Get(optUser), "client."),
		Keyring:  r.Values.Get(optKeyring),
	})
	bs, err := heartbeat.OpenAll(ctx, specs, open)
	if err != nil {
		return nil, err
	}
	self, _ := os.Hostname()
	self, _, _ = strings.Cut(self, ".")
	f.f = &heartbeat.Fencer{Backends: bs, Self: self, Margin: r.Values.Duration(optMargin)}
	if st, err := heartbeat.ReadState(r.Values.Get(optStateDir)); err == nil {
		f.f.SeedFromState(st)
	}
	return f.f, nil
}

func (f *fencer) status(ctx context.Context, r *fence.Request) (fence.Power, error) {
	if r.Action == fence.ActionOn {
		return fence.PowerOn, nil // see on
	}
	s, err := f.session(ctx, r)
	if err != nil {
		return fence.PowerUnknown, err
	}
	v := s.Observe(ctx, r.Plug)
	switch {
	case v.Dead:
		r.Log.Debugf("%s", v.Reason)
		return fence.PowerOff, nil
	case v.Known:
		return fence.PowerOn, nil
	}
	return fence.PowerUnknown, errors.New(v.Reason)
}

// on has nothing to undo: a host fenced through its heartbeat reset or
// powered itself off, and comes back by itself or through a power device.
// It exists because Pacemaker 2.1 fails an unfencing through a fencing
// level that holds a device without "on" (fence_kvmha next to fence_rbd),
// so "on" and its status succeed at once without reading the backends.
func (f *fencer) on(context.Context, *fence.Request) error { return nil }

func (f *fencer) off(ctx context.Context, r *fence.Request) error {
	return f.fence(ctx, r, heartbeat.CmdOff)
}

func (f *fencer) reboot(ctx context.Context, r *fence.Request) error {
	return f.fence(ctx, r, heartbeat.CmdReboot)
}

func (f *fencer) fence(ctx context.Context, r *fence.Request, cmd string) error {
	s, err := f.session(ctx, r)
	if err != nil {
		return err
	}
	start := time.Now()
	v, err := s.Fence(ctx, r.Plug, cmd, r.Log)
	if err != nil {
		return err
	}
	r.Log.Infof("%s fenced (%s) in %.1fs: %s", r.Plug, cmd, time.Since(start).Seconds(), v.Reason)
	return nil
}

func (f *fencer) list(ctx context.Context, r *fence.Request) ([]fence.Plug, error) {
	s, err := f.session(ctx, r)
	if err != nil {
		return nil, err
	}
	hosts, errs := s.Hosts(ctx)
	if len(errs) == len(s.Backends) {
		return nil, errors.Join(errs...)
	}
	for _, e := range errs {
		r.Log.Warnf("%v", e)
	}
	plugs := make([]fence.Plug, len(hosts))
	for i, h := range hosts {
		plugs[i] = fence.Plug{ID: h}
		if r.Action == fence.ActionListStatus {
			v := s.Observe(ctx, h)
			switch {
			case v.Dead:
				plugs[i].State = fence.PowerOff
			case v.Known:
				plugs[i].State = fence.PowerOn
			}
		}
	}
	return plugs, nil
}

// monitor succeeds when a quorum of the backends answers.
func (f *fencer) monitor(ctx context.Context, r *fence.Request) error {
	s, err := f.session(ctx, r)
	if err != nil {
		return err
	}
	hosts, errs := s.Hosts(ctx)
	for _, e := range errs {
		r.Log.Warnf("%v", e)
	}
	n := len(s.Backends)
	if ok := n - len(errs); ok < heartbeat.Quorum(n) {
		return fmt.Errorf("%d of %d backends answer, %d needed: %w", ok, n, heartbeat.Quorum(n), errors.Join(errs...))
	}
	r.Log.Debugf("%d of %d backends answer; %d hosts registered", n-len(errs), n, len(hosts))
	return nil
}
