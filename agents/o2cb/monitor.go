package o2cb

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/kvmha/kvmha/internal/o2cbconf"
	"github.com/kvmha/kvmha/internal/ocf"
)

// monitor answers from the kernel's own state - configfs, /proc and /sys -
// and forks nothing:
//
//   - not running (7): the cluster is not in configfs (or nothing could
//     have registered it: configfs unmounted and no node manager loaded);
//   - failed (1): the cluster is there but this node is not its local node,
//     or the kernel's state cannot be read;
//   - degraded (190): running, but not as configured - a node missing or
//     different, timeouts, heartbeat, stack, dlmfs - or the configuration
//     cannot be read. These are reported, not failed: the usual recovery
//     (stop, start) is impossible under mounted volumes, and O2CB works.
//
// A recurring monitor with sync_nodes registers configured nodes that are
// missing, the one thing that can change while the cluster runs.
func (a *agent) monitor(ctx context.Context, req *ocf.Request) error {
	if a.unusable != nil {
		return a.monitorRecorded(req)
	}
	s := settingsOf(req)
	mounts, registered, err := a.registeredNow(s.cluster)
	if err != nil {
		return err
	}
	if !registered {
		return ocf.Exit(ocf.NotRunning)
	}
	nodes, err := readNodes(a.configfs, s.cluster)
	if err != nil {
		return err
	}
	local := localNode(nodes)
	if local == "" {
		return fmt.Errorf("O2CB cluster %s is registered but has no local node (an unfinished start?)", s.cluster)
	}

	var problems []string
	l, err := a.loadLayout(ctx, req, s)
	if err != nil {
		problems = append(problems, "cannot check against the configuration: "+err.Error())
	} else {
		if l.Local.Name != local {
			return fmt.Errorf("the kernel's local O2CB node is %s, but this node is %s in %s", local, l.Local.Name, l.Source)
		}
		problems = append(problems, a.nodeProblems(req, s, l, nodes)...)
		attrs := clusterAttrs{timeouts: s.timeouts, fenceMethod: s.fenceMethod, heartbeatMode: l.HeartbeatMode}
		problems = append(problems, attrDifferences(a.configfs, s.cluster, attrs)...)
		if l.HeartbeatMode == o2cbconf.HeartbeatGlobal {
			problems = append(problems, a.regionProblems(s.cluster, l)...)
		}
	}
	if s.nodesFrom != fromCorosync {
		problems = append(problems, a.corosyncProblems(ctx, s, nodes)...)
	}
	if data, err := os.ReadFile(a.clusterStackFile()); err != nil || strings.TrimSpace(string(data)) != "o2cb" {
		problems = append(problems, "the OCFS2 cluster stack is not o2cb")
	}
	if mountedAt(mounts, s.dlmfsDir) != "ocfs2_dlmfs" {
		problems = append(problems, "ocfs2_dlmfs is not mounted at "+s.dlmfsDir)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			req.Log.Warnf("%s", p)
		}
		return ocf.Errorf(ocf.Degraded, "%s", strings.Join(problems, "; "))
	}
	return nil
}

// nodeProblems compares the registered nodes with the configured ones and,
// with sync_nodes on a recurring monitor, registers the missing ones.
func (a *agent) nodeProblems(req *ocf.Request, s settings, l *layout, nodes []registeredNode) []string {
	var problems, missing []string
	byName := map[string]registeredNode{}
	for _, n := range nodes {
		byName[n.Name] = n
	}
	for _, want := range l.Nodes {
		r, ok := byName[want.Name]
		if !ok {
			if s.syncNodes && !req.IsProbe() {
				if err := registerNode(a.configfs, s.cluster, want); err != nil {
					problems = append(problems, err.Error())
				} else {
					req.Log.Infof("registered node %s (%d, %s:%d), new in %s", want.Name, want.Number, want.IP, want.Port, l.Source)
				}
				continue
			}
			missing = append(missing, want.Name)
			continue
		}
		if d := r.differs(want); d != "" {
			problems = append(problems, fmt.Sprintf("node %s is registered with %s (changes need a restart)", want.Name, d))
		}
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("nodes of %s not registered in O2CB: %s", l.Source, strings.Join(missing, ", ")))
	}
	for _, n := range nodes {
		if !hasNode(l.Nodes, n.Name) {
			problems = append(problems, fmt.Sprintf("node %s is registered but no longer in %s (it leaves at the next restart)", n.Name, l.Source))
		}
	}
	return problems
}

// corosyncProblems reports corosync nodes O2CB does not know when the node
// list comes from cluster.conf: a node added to the cluster but not to
// cluster.conf cannot mount. No corosync.conf means no Pacemaker cluster to
// compare with (ocf-tester, a test bed), so no report.
func (a *agent) corosyncProblems(ctx context.Context, s settings, nodes []registeredNode) []string {
	if _, err := os.Stat(s.corosyncConf); err != nil {
		return nil
	}
	cfg, err := a.readCorosync(ctx, s.corosyncConf)
	if err != nil {
		return []string{err.Error()}
	}
	var missing []string
	for _, cn := range cfg.Nodes {
		if !registeredName(nodes, cn.Name) {
			missing = append(missing, cn.Name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("corosync nodes not registered in O2CB: %s (add them to %s)", strings.Join(missing, ", "), s.clusterConf)}
}

func hasNode(nodes []o2cbconf.Node, name string) bool {
	for _, n := range nodes {
		if n.Name == name {
			return true
		}
	}
	return false
}

func registeredName(nodes []registeredNode, name string) bool {
	for _, n := range nodes {
		if n.Name == name {
			return true
		}
	}
	return false
}

// monitorRecorded is a monitor whose parameters cannot be used (a.unusable says why) on a
// node whose record says start registered a cluster: that cluster is judged, from the
// kernel's state alone - running when it is registered with a local node.
func (a *agent) monitorRecorded(req *ocf.Request) error {
	var rec record
	ok, err := req.LoadRecord(&rec)
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot tell whether the O2CB cluster start registered runs: %v, and %v", err, a.unusable)
	}
	if !ok {
		return a.unusable
	}
	if err := o2cbconf.CheckClusterName(rec.Cluster); err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "this node's record of the resource (%s) names no O2CB cluster: %v", req.RecordPath(), err)
	}
	_, registered, err := a.registeredNow(rec.Cluster)
	if err != nil {
		return err
	}
	if !registered {
		return ocf.Exit(ocf.NotRunning)
	}
	nodes, err := readNodes(a.configfs, rec.Cluster)
	if err != nil {
		return err
	}
	if localNode(nodes) == "" {
		return fmt.Errorf("O2CB cluster %s is registered but has no local node (an unfinished start?)", rec.Cluster)
	}
	req.Log.Warnf("%v; O2CB cluster %s runs, as this node's record says start registered it", a.unusable, rec.Cluster)
	return nil
}

// monitorRefused is Agent.MonitorRecorded: the runtime refused a parameter's value before
// validate ran; the recorded cluster is judged all the same.
func (a *agent) monitorRefused(_ context.Context, req *ocf.Request) error {
	if a.unusable == nil {
		a.unusable = ocf.Errorf(ocf.ErrConfigured, "a parameter has a value of the wrong type")
	}
	return a.monitorRecorded(req)
}
