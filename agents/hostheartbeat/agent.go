// Package hostheartbeat is the ocf:kvmha:HostHeartbeat resource agent. Run
// as a clone, it keeps a heartbeat daemon ("kvmha heartbeat run") on every
// host: start writes the daemon's configuration and launches it detached,
// monitor reads the state file the daemon rewrites every beat (it never
// forks and never touches the storage), stop ends the daemon cleanly.
package hostheartbeat

import (
	"time"

	"github.com/kvmha/kvmha/internal/ocf"
)

// Version is the agent's own version.
const Version = "0.1.0"

const longDesc = `Writes this host's heartbeat record to every backend every interval and watches the host's slot for fence messages, through a small daemon ("kvmha heartbeat run") that start launches detached and stop ends. Run it as a clone on every host; fence_kvmha fences through it.

Backends ("backends", one or more, spaces or commas between): rados://POOL[/NAMESPACE] (an object per host, through librados with ceph_conf, ceph_user and ceph_keyring), file:///DIR (a file per host in a directory of a shared filesystem: NFS, CephFS, OCFS2), block:///dev/DEVICE (a slot per host on a shared block device, direct I/O; "kvmha heartbeat format" lays it out first). The record holds the node name, the daemon's incarnation and sequence number, the time, the host's Ceph client addresses and its running guests with their disks (files, block devices by their stable ids, RBD images; read-only and shareable ones marked) and I/O counters, which ocf:kvmha:VirtualDomain's start guard (its heartbeat parameter) reads: a record too full for every disk list leaves some out and says so.

Safety: the daemon arms the watchdog (watchdog_device) once a quorum of backends took its record - one of one or two backends, a strict majority of three or more - and feeds it only while that stays true within "timeout" and the daemon itself runs. So a host whose record has been stale for timeout + watchdog_timeout + a margin on enough backends is dead, and fence_kvmha may say so without the host's help. On a fence message for itself the daemon stops feeding the watchdog, acknowledges in its record and fences the host (self_fence: what the message asks, or always reboot, or always off, through sysrq; "exec:/path" runs a test command with the node name and the command). A clean stop writes a "stopped" record (no watchdog) to every backend and disarms the watchdog only when all took it; otherwise the watchdog stays armed and the host is reset.

Defaults (interval 1 s, timeout 5 s, watchdog 5 s; fence_kvmha adds a 2 s margin) are sbd's proven budget: a host is proven dead about 12 s after its last beat. A single RADOS backend on a small Ceph cluster may stall writes longer than 5 s when an OSD host dies (until the OSD is marked down); there, add a second backend of another kind (a shared directory) or raise timeout above the OSD heartbeat grace.

While every backend takes the record, the node attribute storage_attribute is 1; it turns 0 as soon as one does not, so that location rules can move guests away before their I/O hangs.

start records the daemon it launched (its pid, start time, state directory and configuration file) in HA_RSCTMP; stop ends the daemon of its parameters and the recorded one (only if that pid still is the same process), so a stop with parameters that became invalid or changed since start still ends exactly the daemon start launched, and drops the record. Without a record, such a stop succeeds: nothing can have started with them.

stop in a partition without quorum (and not because this node shuts down) leaves the daemon running and says so: Pacemaker stops every resource there, but the daemon is how the quorate side fences this node, by a message or by staleness. stop may run crm_node and attrd_updater to find that out; monitor never forks.

monitor: OCF_NOT_RUNNING without a daemon; OCF_ERR_GENERIC when the daemon died, is stuck (its state file is as old as the timeout, when it stops feeding the watchdog itself), lost the quorum of its backends, or is fencing the host; success otherwise (failing backends are logged).`

type agent struct{ deps }

// New returns the agent on this host.
func New() *ocf.Agent { return newAgent(productionDeps()) }

// newAgent returns the agent on d.
func newAgent(d deps) *ocf.Agent {
	a := &agent{deps: d}
	return &ocf.Agent{
		Name:      "HostHeartbeat",
		Version:   Version,
		ShortDesc: "Host heartbeat on shared storage, with fence messages and a watchdog (for fence_kvmha)",
		LongDesc:  longDesc,
		Params:    params,
		Timeouts: map[string]time.Duration{
			ocf.ActionStart:   30 * time.Second,
			ocf.ActionStop:    30 * time.Second,
			ocf.ActionMonitor: 10 * time.Second,
		},
		Monitors:     []ocf.MonitorOp{{Interval: 10 * time.Second, Timeout: 10 * time.Second}},
		Start:        a.start,
		Stop:         a.stop,
		StopRecorded: a.stopRecorded,
		Monitor:      a.monitor,
		Validate:     a.validate,
	}
}
