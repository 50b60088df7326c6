package o2cb

import (
	"context"

	"github.com/kvmha/kvmha/internal/ocf"
)

// reload applies changed parameters to a running cluster. Pacemaker calls it
// instead of stop and start when parameters change (the agent advertises
// reload and no parameter is unique), which matters here: stop is refused
// while volumes are mounted, so a restart for a new timeout would end in
// fencing. Whatever the kernel allows is applied as start would; what it
// freezes while volumes are mounted (o2net timeouts with peers connected,
// the dead threshold and heartbeat mode with regions beating, a node's
// attributes) stays, with a warning, and monitor reports it as degraded
// until the next real restart.
//
// Pacemaker reloads running resources only; a reload of a cluster that is
// not registered has nothing to apply and starts nothing.
func (a *agent) reload(ctx context.Context, req *ocf.Request) error {
	s := settingsOf(req)
	mounts, registered, err := a.registeredNow(s.cluster)
	if err != nil {
		return err
	}
	if !registered {
		req.Log.Infof("reload: O2CB cluster %s is not running; nothing to apply", s.cluster)
		return nil
	}
	err = a.start(ctx, req)
	if err == nil || ctx.Err() != nil || len(ocfs2Mounts(mounts)) == 0 {
		return err
	}
	req.Log.Warnf("reload: %v; O2CB keeps running with its current settings until it is restarted with no volume mounted", err)
	return nil
}
