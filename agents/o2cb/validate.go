package o2cb

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/o2cbconf"
	"github.com/kvmha/kvmha/internal/ocf"
)

// Kernel limits of the timing attributes. The kernel takes any non-zero
// 32-bit value for the o2net delays (idle above keepalive) and silently keeps
// the old dead threshold when given one of 2 or less (O2HB_MIN_DEAD_THRESHOLD).
const (
	minDeadThreshold = 3
	maxAttrValue     = 1<<31 - 1 // fits the kernel's u32 and our int everywhere
)

// ocfs2-tools' own floors (the o2cb init script's MIN_*): below them O2CB
// works but declares nodes dead on hiccups, so they earn a warning.
const (
	toolsMinDeadThreshold = 7
	toolsMinIdleMs        = 5000
	toolsMinKeepaliveMs   = 1000
	toolsMinReconnectMs   = 2000
)

// checkSettings applies the rules that make a configuration wrong on every
// node. It returns every problem in one line, for the exit reason, each
// beginning with the parameter to fix.
func checkSettings(s settings) error {
	var problems []string
	add := func(param, format string, args ...any) {
		problems = append(problems, param+": "+fmt.Sprintf(format, args...))
	}

	if err := o2cbconf.CheckClusterName(s.cluster); err != nil {
		add(pCluster, "%v", err)
	}
	for _, p := range []struct{ name, path string }{{pClusterConf, s.clusterConf}, {pCorosyncConf, s.corosyncConf}, {pDLMFSDir, s.dlmfsDir}} {
		if !filepath.IsAbs(p.path) || filepath.Clean(p.path) == "/" {
			add(p.name, "must be an absolute path, not %q", agentlog.Clip(p.path))
		}
	}
	if s.manageConf && s.nodesFrom != fromCorosync {
		add(pManageConf, "true needs %s=%s: with %s the file is the source of the node list", pNodesFrom, fromCorosync, fromClusterConf)
	}
	if s.ring < 0 || s.ring > 7 {
		add(pCorosyncRing, "must be 0..7, not %d", s.ring)
	}
	if s.port < 1 || s.port > 65534 {
		add(pPort, "must be 1..65534, not %d", s.port)
	}
	if s.hbMode == o2cbconf.HeartbeatGlobal && s.nodesFrom == fromCorosync && len(s.hbDevices) == 0 {
		add(pHBDevices, "%s=global with %s=%s needs %s", pHBMode, pNodesFrom, fromCorosync, pHBDevices)
	}
	if len(s.hbDevices) > 0 && s.hbMode == o2cbconf.HeartbeatLocal {
		add(pHBDevices, "set but %s=local", pHBMode)
	}
	for _, d := range s.hbDevices {
		if !filepath.IsAbs(d) && o2cbconf.CheckRegionName(d) != nil {
			add(pHBDevices, "%q is neither a device path nor a volume UUID (32 hex digits)", agentlog.Clip(d))
		}
	}

	t := s.timeouts
	for _, v := range []struct {
		name       string
		value, min int
	}{
		{pDeadThreshold, t.deadThreshold, minDeadThreshold},
		{pIdleTimeout, t.idleMs, 1},
		{pKeepalive, t.keepaliveMs, 1},
		{pReconnect, t.reconnectMs, 1},
	} {
		if v.value < v.min || v.value > maxAttrValue {
			add(v.name, "must be %d..%d, not %d", v.min, maxAttrValue, v.value)
		}
	}
	if t.idleMs <= t.keepaliveMs {
		add(pIdleTimeout, "%d must be larger than %s (%d): the kernel refuses it", t.idleMs, pKeepalive, t.keepaliveMs)
	}

	if len(problems) > 0 {
		return ocf.Errorf(ocf.ErrConfigured, "%s", strings.Join(problems, "; "))
	}
	return nil
}

// softWarnings lists settings the kernel accepts but ocfs2-tools advise against.
func softWarnings(t timeouts) []string {
	var w []string
	for _, v := range []struct {
		name       string
		value, min int
	}{
		{pDeadThreshold, t.deadThreshold, toolsMinDeadThreshold},
		{pIdleTimeout, t.idleMs, toolsMinIdleMs},
		{pKeepalive, t.keepaliveMs, toolsMinKeepaliveMs},
		{pReconnect, t.reconnectMs, toolsMinReconnectMs},
	} {
		if v.value < v.min {
			w = append(w, fmt.Sprintf("%s=%d is below the %d ocfs2-tools recommend: nodes may be declared dead on a short stall", v.name, v.value, v.min))
		}
	}
	return w
}

// validate is Agent.Validate: the parameter rules always; for validate-all
// also this node's side - the node list loads and names this node, a
// corosync_conf monitor would compare with reads, and the kernel has the
// modules. Start does the latter itself, and monitor must not
// fail on a file that changed after start (see monitor.go).
func (a *agent) validate(ctx context.Context, req *ocf.Request) error {
	s := settingsOf(req)
	if err := checkSettings(s); err != nil {
		if req.IsProbe() && req.HasRecord() {
			a.unusable = err
			return nil
		}
		return err
	}
	for _, w := range softWarnings(s.timeouts) {
		req.Log.Warnf("%s", w)
	}
	if req.Action() != ocf.ActionValidateAll {
		return nil
	}
	if _, err := a.loadLayout(ctx, req, s); err != nil {
		return err
	}
	if err := checkDLMFSDir(s.dlmfsDir); err != nil {
		return err
	}
	if s.nodesFrom != fromCorosync && fileExists(s.corosyncConf) {
		// monitor compares the kernel's nodes with this file when it exists: one it
		// cannot read is reported now rather than as a degraded cluster later.
		if _, err := a.readCorosync(ctx, s.corosyncConf); err != nil {
			return err
		}
	}
	return a.checkModulesAvailable()
}
