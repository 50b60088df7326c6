package doctor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/heartbeat"
)

// ErrNoPacemaker is NodeName's error on a host without Pacemaker.
var ErrNoPacemaker = errors.New("no Pacemaker here (no crm_node)")

// checkNodeName: the heartbeat daemon runs under Pacemaker's name for this
// node, and its record is on every backend under that name. fence_kvmha
// looks a victim up by Pacemaker's name: a record under another name
// makes the node unfenceable through the heartbeat.
func (d *Doctor) checkNodeName(ctx context.Context) Result {
	dir := d.HeartbeatStateDir
	cfg, err := heartbeat.ReadConfig(d.Root.path(heartbeat.ConfigPathIn(dir)))
	if errors.Is(err, os.ErrNotExist) {
		return skip("no heartbeat daemon configured here (no %s)", heartbeat.ConfigPathIn(dir))
	}
	if err != nil {
		return fail("restart the HostHeartbeat resource, which rewrites it", "%v", err)
	}
	name, err := d.NodeName(ctx)
	if errors.Is(err, ErrNoPacemaker) {
		return skip("%v: not a cluster node", err)
	}
	if err != nil {
		return warn("start the cluster on this node (pcs cluster start), then run again",
			"the heartbeat daemon is configured as %s, but Pacemaker does not say this node's name: %v", cfg.Node, err)
	}
	fix := fmt.Sprintf("restart the HostHeartbeat resource on this node (pcs resource restart <its id>): it takes Pacemaker's name "+
		"(%s) when Pacemaker gives it, else the host name (%s); or set the host name to %s (hostnamectl set-hostname %s)",
		name, d.Root.hostname(), name, name)
	if cfg.Node != name {
		return fail(fix, "Pacemaker calls this node %s, but the heartbeat daemon (%s) writes its record as %s",
			name, heartbeat.ConfigPathIn(dir), cfg.Node)
	}
	if st, err := heartbeat.ReadState(d.Root.path(dir)); err == nil && st.Node != name {
		return fail(fix, "Pacemaker calls this node %s, but the running heartbeat daemon (pid %d) writes as %s", name, st.PID, st.Node)
	}
	specs, err := cfg.Validate()
	if err != nil {
		return fail("restart the HostHeartbeat resource, which rewrites it", "%s: %v", heartbeat.ConfigPathIn(dir), err)
	}
	cephCfg := ceph.Config{ConfPath: cfg.CephConf, User: cfg.CephUser, Keyring: cfg.CephKeyring}
	backends, err := heartbeat.OpenAll(ctx, specs, d.HeartbeatOpener(cephCfg))
	if err != nil {
		return fail("see the error", "opening the heartbeat backends: %v", err)
	}
	defer func() {
		for _, b := range backends {
			b.Close()
		}
	}()
	var seen, missing []string
	for _, b := range backends {
		rec, err := heartbeat.ReadRecordOf(ctx, b, name)
		switch {
		case err == nil:
			age := d.Now().Sub(rec.Time()).Round(100 * time.Millisecond)
			seen = append(seen, fmt.Sprintf("%s (%s, seq %d, written %s ago)", b.URI(), rec.State, rec.Seq, age))
		case errors.Is(err, heartbeat.ErrNotFound):
			others := ""
			if hosts, err := b.Hosts(ctx); err == nil && len(hosts) > 0 {
				others = " (it has " + strings.Join(hosts, ", ") + ")"
			}
			missing = append(missing, fmt.Sprintf("no record of %s on %s%s", name, b.URI(), others))
		default:
			missing = append(missing, fmt.Sprintf("%s: %v", b.URI(), err))
		}
	}
	if len(missing) > 0 {
		return fail("start the HostHeartbeat resource on this node (pcs resource enable/cleanup <its id>) and check its log ("+cfg.LogPath()+")",
			"the heartbeat daemon is configured as %s, Pacemaker's name, but %s", name, strings.Join(missing, "; "))
	}
	return pass("Pacemaker's %s is the heartbeat daemon's name; its record is on %s", name, strings.Join(seen, ", "))
}
