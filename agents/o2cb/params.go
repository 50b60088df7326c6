package o2cb

import (
	"strings"

	"github.com/kvmha/kvmha/internal/ocf"
)

// Parameter names.
const (
	pCluster       = "cluster"
	pNodesFrom     = "nodes_from"
	pClusterConf   = "cluster_conf"
	pManageConf    = "manage_cluster_conf"
	pCorosyncConf  = "corosync_conf"
	pCorosyncRing  = "corosync_ring"
	pPort          = "ip_port"
	pHBMode        = "heartbeat_mode"
	pHBDevices     = "heartbeat_devices"
	pDeadThreshold = "heartbeat_dead_threshold"
	pIdleTimeout   = "idle_timeout_ms"
	pKeepalive     = "keepalive_delay_ms"
	pReconnect     = "reconnect_delay_ms"
	pFenceMethod   = "fence_method"
	pDLMFSDir      = "dlmfs_dir"
	pSyncNodes     = "sync_nodes"
)

// Values of nodes_from.
const (
	fromClusterConf = "cluster_conf"
	fromCorosync    = "corosync"
)

var params = []ocf.Param{
	{Name: pCluster, Type: ocf.TypeString, Default: "ocfs2",
		ShortDesc: "O2CB cluster name",
		LongDesc: "Name of the O2CB cluster, as given to mkfs.ocfs2 --cluster-name (at most 16 letters, digits, " +
			"'.', '_' or '-'). The kernel runs one O2CB cluster at a time."},
	{Name: pNodesFrom, Type: ocf.TypeString, Default: fromClusterConf, Choices: []string{fromClusterConf, fromCorosync},
		ShortDesc: "Where the node list comes from",
		LongDesc: "cluster_conf: the nodes of the cluster in cluster_conf, as ocfs2-tools keep it. " +
			"corosync: the nodelist of corosync_conf - every node's name, nodeid (the O2CB node number, 1..254) " +
			"and ring address - so that adding a node to the Pacemaker cluster is all it takes. The file is read, " +
			"never a running corosync asked: the agent forks nothing to learn the members."},
	{Name: pClusterConf, Type: ocf.TypeString, Default: "/etc/ocfs2/cluster.conf",
		ShortDesc: "ocfs2-tools cluster configuration file",
		LongDesc:  "The cluster.conf read with nodes_from=cluster_conf and written with manage_cluster_conf=true."},
	{Name: pManageConf, Type: ocf.TypeBoolean, Default: "false",
		ShortDesc: "Write cluster_conf from corosync's node list",
		LongDesc: "With nodes_from=corosync, start writes the cluster (its nodes, heartbeat mode and regions) " +
			"into cluster_conf, keeping any other cluster in it, so that mkfs.ocfs2, fsck.ocfs2 and o2cb see " +
			"the same layout as the kernel. The file is only rewritten when the layout changed."},
	{Name: pCorosyncConf, Type: ocf.TypeString, Default: "/etc/corosync/corosync.conf",
		ShortDesc: "corosync configuration file",
		LongDesc: "Read for the node list with nodes_from=corosync, and by monitor, which reports a corosync " +
			"node that O2CB does not know about."},
	{Name: pCorosyncRing, Type: ocf.TypeInteger, Default: "0",
		ShortDesc: "corosync ring whose addresses O2CB uses",
		LongDesc: "With nodes_from=corosync, the ringN_addr (N = 0..7) each node is reached at. O2CB speaks " +
			"IPv4 only; host names are resolved."},
	{Name: pPort, Type: ocf.TypeInteger, Default: "7777",
		ShortDesc: "O2CB TCP port",
		LongDesc:  "The o2net port of every node with nodes_from=corosync (cluster.conf gives its own)."},
	{Name: pHBMode, Type: ocf.TypeString, Choices: []string{"local", "global"},
		ShortDesc: "Disk heartbeat mode",
		LongDesc: "local: every mounted volume heartbeats on itself (mount.ocfs2 starts it). global: the " +
			"heartbeat runs on the volumes in heartbeat_devices whether or not anything is mounted, and the " +
			"volumes must have been made with mkfs.ocfs2 --global-heartbeat. Unset: the cluster's " +
			"heartbeat_mode in cluster_conf with nodes_from=cluster_conf, else local."},
	{Name: pHBDevices, Type: ocf.TypeString,
		ShortDesc: "Global heartbeat regions",
		LongDesc: "With heartbeat_mode=global: the heartbeat volumes, as block device paths (e.g. " +
			"/dev/rbd/pool/hb1 or /dev/disk/by-id/...) or as volume UUIDs (32 hex digits), separated by " +
			"blanks. Unset: the heartbeat regions of the cluster in cluster_conf."},
	{Name: pDeadThreshold, Type: ocf.TypeInteger, Default: "31",
		ShortDesc: "Disk heartbeat dead threshold (2 s iterations)",
		LongDesc: "A node whose disk heartbeat has not changed for this many 2-second iterations is dead: " +
			"(threshold - 1) * 2 seconds. The kernel ignores values below 3; ocfs2-tools recommend at least 7."},
	{Name: pIdleTimeout, Type: ocf.TypeInteger, Default: "30000",
		ShortDesc: "Network idle timeout (ms)",
		LongDesc: "An o2net connection silent this long is dropped. Must exceed keepalive_delay_ms; " +
			"ocfs2-tools recommend at least 5000. Identical on every node (o2net refuses peers that differ)."},
	{Name: pKeepalive, Type: ocf.TypeInteger, Default: "2000",
		ShortDesc: "Network keepalive delay (ms)",
		LongDesc:  "Idle time after which o2net sends a keepalive; below idle_timeout_ms, at least 1."},
	{Name: pReconnect, Type: ocf.TypeInteger, Default: "2000",
		ShortDesc: "Network reconnect delay (ms)",
		LongDesc:  "Minimum time between o2net connection attempts; at least 1."},
	{Name: pFenceMethod, Type: ocf.TypeString, Default: "reset", Choices: []string{"reset", "panic"},
		ShortDesc: "What O2CB does to a node that lost its quorum",
		LongDesc:  "reset: restart the machine at once; panic: panic the kernel (for a kdump)."},
	{Name: pDLMFSDir, Type: ocf.TypeString, Default: "/dlm",
		ShortDesc: "Where ocfs2_dlmfs is mounted",
		LongDesc:  "ocfs2-tools (tunefs.ocfs2, fsck.ocfs2) take their cluster locks through this file system."},
	{Name: pSyncNodes, Type: ocf.TypeBoolean, Default: "true",
		ShortDesc: "Register nodes added to the cluster while it runs",
		LongDesc: "When a recurring monitor finds a configured node that the kernel does not know yet (a node " +
			"added to corosync_conf or cluster_conf), it registers it, as `o2cb add-node` would; nodes are never " +
			"removed or changed while the cluster runs. false: monitor reports such nodes (OCF_DEGRADED) only."},
}

// settings are the parameters, parsed.
type settings struct {
	cluster      string
	nodesFrom    string
	clusterConf  string
	manageConf   bool
	corosyncConf string
	ring         int
	port         int
	hbMode       string   // "" = from cluster.conf (or local)
	hbDevices    []string // device paths or UUIDs
	timeouts     timeouts
	fenceMethod  string
	dlmfsDir     string
	syncNodes    bool
}

// timeouts are the cluster's timing attributes in configfs.
type timeouts struct {
	deadThreshold, idleMs, keepaliveMs, reconnectMs int
}

func settingsOf(req *ocf.Request) settings {
	return settings{
		cluster:      req.String(pCluster),
		nodesFrom:    req.String(pNodesFrom),
		clusterConf:  req.String(pClusterConf),
		manageConf:   req.Bool(pManageConf),
		corosyncConf: req.String(pCorosyncConf),
		ring:         req.Int(pCorosyncRing),
		port:         req.Int(pPort),
		hbMode:       req.String(pHBMode),
		hbDevices:    strings.Fields(req.String(pHBDevices)),
		timeouts: timeouts{
			deadThreshold: req.Int(pDeadThreshold),
			idleMs:        req.Int(pIdleTimeout),
			keepaliveMs:   req.Int(pKeepalive),
			reconnectMs:   req.Int(pReconnect),
		},
		fenceMethod: req.String(pFenceMethod),
		dlmfsDir:    req.String(pDLMFSDir),
		syncNodes:   req.Bool(pSyncNodes),
	}
}
