// Package o2cb is the ocf:kvmha:o2cb resource agent: it brings the classic
// OCFS2 cluster stack (O2CB) up and down in the kernel - modules, configfs,
// ocfs2_dlmfs, the cluster, its nodes, timeouts and disk heartbeat mode -
// from cluster.conf or from corosync's node list. Run it as a clone on every
// node that mounts OCFS2, and order the Filesystem resources after it.
//
// The agent writes configfs itself, as the o2cb tool does, so that start
// forks at most one modprobe (when modules are missing) and monitor forks
// nothing.
package o2cb

import (
	"time"

	"github.com/kvmha/kvmha/internal/ocf"
)

// Version is the agent's own version.
const Version = "0.1.0"

type agent struct {
	deps
	// unusable is why a probe's parameters cannot be used, set by validate when this
	// node's record says start registered a cluster: the probe then judges that cluster
	// (monitorRecorded) rather than answer "not running" for a cluster that runs.
	unusable error
}

// New returns the agent working on this host.
func New() *ocf.Agent { return newAgent(productionDeps()) }

// newAgent returns the agent working on d.
func newAgent(d deps) *ocf.Agent {
	a := &agent{deps: d}
	return &ocf.Agent{
		Name:      "o2cb",
		Version:   Version,
		ShortDesc: "OCFS2 O2CB cluster stack",
		LongDesc: "Brings the OCFS2 O2CB cluster stack up and down: loads the kernel modules, mounts configfs and " +
			"ocfs2_dlmfs, selects the o2cb cluster stack, and registers the cluster in configfs - its nodes " +
			"(from cluster.conf, or from corosync's nodelist so that adding a node to the cluster is enough), " +
			"timeouts, fence method and disk heartbeat mode (local, or global with its regions). Run it as a " +
			"clone and order the Filesystem resources of OCFS2 volumes after it.\n\n" +
			"monitor checks that the cluster and this node are registered as configured and reports " +
			"OCF_DEGRADED for differences it cannot fix while the cluster runs (timeouts, a node corosync has " +
			"but O2CB does not). stop refuses while any OCFS2 file system is mounted - taking O2CB away under " +
			"a mounted volume would hang it - and otherwise removes the cluster from configfs and unmounts the " +
			"ocfs2_dlmfs it mounted. Modules stay loaded. reload applies changed parameters as far as the kernel " +
			"allows while volumes are mounted, so that a parameter change never needs the refused stop.\n\n" +
			"start runs modprobe when modules are missing; nothing else forks.",
		Params: params,
		Timeouts: map[string]time.Duration{
			ocf.ActionStart:   90 * time.Second,
			ocf.ActionStop:    60 * time.Second,
			ocf.ActionMonitor: 20 * time.Second,
			ocf.ActionReload:  90 * time.Second,
		},
		Monitors:     []ocf.MonitorOp{{Interval: 10 * time.Second, Timeout: 20 * time.Second}},
		Start:        a.start,
		Stop:         a.stop,
		StopRecorded: a.stopRecorded,
		// A monitor whose parameters the runtime refuses (a value of the wrong type)
		// judges the recorded cluster too, as one validate refuses does.
		MonitorRecorded: a.monitorRefused,
		Monitor:         a.monitor,
		Reload:          a.reload,
		Validate:        a.validate,
	}
}
