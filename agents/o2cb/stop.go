package o2cb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/kvmha/kvmha/internal/o2cbconf"
	"github.com/kvmha/kvmha/internal/ocf"
)

// stop takes the cluster out of the kernel unless an OCFS2 volume is
// mounted. Refusing is the lesser evil: without O2CB a mounted volume hangs
// its users at the next lock, and Pacemaker treats the failed stop by
// fencing the node - which a correct ordering (Filesystem resources stop
// first) never triggers.
//
// The cluster name is the one parameter stop needs; when it is unusable,
// stop returns ErrConfigured and the runtime stops what this node's record
// names instead (stopRecorded), or succeeds without a record. A record of
// another cluster than the parameters name (they changed since start) is
// stopped too.
func (a *agent) stop(ctx context.Context, req *ocf.Request) error {
	s := settingsOf(req)
	if err := o2cbconf.CheckClusterName(s.cluster); err != nil {
		return ocf.ParamErrorf(pCluster, "%v", err)
	}
	var rec record
	ok, err := req.LoadRecord(&rec)
	if err != nil {
		req.Log.Warnf("%v; stopping cluster %s as the parameters say", err, s.cluster)
		ok = false
	}
	recorded := ""
	if ok && rec.Cluster == s.cluster {
		recorded = rec.MountedDLMFS
	}
	if err := a.stopCluster(ctx, req, s.cluster, recorded); err != nil {
		return err
	}
	if ok && rec.Cluster != s.cluster && o2cbconf.CheckClusterName(rec.Cluster) == nil {
		req.Log.Infof("start registered O2CB cluster %s, the parameters now name %s: stopping %s too", rec.Cluster, s.cluster, rec.Cluster)
		if err := a.stopCluster(ctx, req, rec.Cluster, rec.MountedDLMFS); err != nil {
			return err
		}
	}
	return dropRecord(req)
}

// stopRecorded is Agent.StopRecorded: the stop of a resource whose parameters cannot be
// used. It stops the cluster this node's record names, unmounts the ocfs2_dlmfs start
// mounted, and forgets the record.
func (a *agent) stopRecorded(ctx context.Context, req *ocf.Request) error {
	var rec record
	ok, err := req.LoadRecord(&rec)
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot tell which O2CB cluster start registered: %v", err)
	}
	if !ok {
		return nil
	}
	if err := o2cbconf.CheckClusterName(rec.Cluster); err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "this node's record of the resource (%s) names no O2CB cluster: %v", req.RecordPath(), err)
	}
	if err := a.stopCluster(ctx, req, rec.Cluster, rec.MountedDLMFS); err != nil {
		return err
	}
	if rec.MountedConfigfs {
		req.Log.Infof("configfs, which start mounted, stays mounted: other kernel subsystems share it")
	}
	return dropRecord(req)
}

func dropRecord(req *ocf.Request) error {
	if err := req.DropRecord(); err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot remove this node's record of the resource (%s): %v", req.RecordPath(), err)
	}
	return nil
}

// stopCluster unregisters cluster unless an OCFS2 volume is mounted, then unmounts the
// ocfs2_dlmfs start mounted: the one its state names, else recordedDLMFS (the record's).
func (a *agent) stopCluster(ctx context.Context, req *ocf.Request, cluster, recordedDLMFS string) error {
	mounts, err := a.readMounts()
	if err != nil {
		return err
	}
	mounted := ocfs2Mounts(mounts)
	registered, err := a.clusterRegistered(mounts, cluster, true)
	switch {
	case err != nil && len(mounted) > 0:
		return fmt.Errorf("OCFS2 is mounted at %s and O2CB cannot be checked: %v", strings.Join(mounted, ", "), err)
	case err != nil:
		// Nothing is mounted, so nothing depends on O2CB: a cluster we
		// cannot see harms no one, and failing stop would fence the node.
		req.Log.Warnf("%v; nothing is mounted, so stop succeeds without looking further", err)
	case registered && len(mounted) > 0:
		return fmt.Errorf("OCFS2 is mounted at %s: refusing to stop O2CB under a mounted volume; stop the Filesystem resources first",
			strings.Join(mounted, ", "))
	case registered:
		if err := unregisterCluster(ctx, a.configfs, cluster, req.Log); err != nil {
			return err
		}
		req.Log.Infof("O2CB cluster %s is down", cluster)
	}
	st, err := a.loadState(cluster)
	if err != nil {
		req.Log.Warnf("%v; leaving ocfs2_dlmfs mounted unless this node's record names it", err)
	}
	dlmfs := st.MountedDLMFS
	if dlmfs == "" {
		dlmfs = recordedDLMFS
	}
	if dlmfs != "" {
		a.unmountDLMFS(dlmfs, mounts, req.Log)
	}
	if err := a.removeState(cluster); err != nil {
		req.Log.Warnf("cannot remove %s: %v", a.statePath(cluster), err)
	}
	return nil
}

// registeredNow reads the mounts and looks for the cluster in configfs without mounting
// anything (monitor, reload): the mounts, and whether the cluster is registered.
func (s *deps) registeredNow(cluster string) ([]mount, bool, error) {
	mounts, err := s.readMounts()
	if err != nil {
		return nil, false, err
	}
	registered, err := s.clusterRegistered(mounts, cluster, false)
	return mounts, registered, err
}

// clusterRegistered looks for the cluster in configfs. When configfs is not
// mounted the answer is only certain if the node manager is not loaded
// (nothing can be registered then); otherwise configfs is mounted to look,
// if mayMount, as start would.
func (s *deps) clusterRegistered(mounts []mount, cluster string, mayMount bool) (bool, error) {
	if mountedAt(mounts, s.configfsDir) != "configfs" {
		if !s.nodeManagerLoaded() {
			return false, nil
		}
		if !mayMount {
			return false, fmt.Errorf("configfs is not mounted at %s, so whether O2CB cluster %s is registered cannot be seen", s.configfsDir, cluster)
		}
		if _, err := s.ensureConfigfs(); err != nil {
			return false, err
		}
	}
	clusters, err := registeredClusters(s.configfs)
	if err != nil {
		return false, err
	}
	return slices.Contains(clusters, cluster), nil
}

// nodeManagerLoaded reports whether the O2CB node manager, the keeper of
// configfs' "cluster" tree, is in the kernel.
func (s *deps) nodeManagerLoaded() bool {
	_, err := os.Stat(s.sysfs("module/ocfs2_nodemanager"))
	return err == nil
}

// unregisterCluster removes heartbeat regions, then nodes (the local one
// last: removing it stops o2net listening), then the cluster. configfs
// refuses to remove a folder that still has objects below it.
func unregisterCluster(ctx context.Context, c configFS, cluster string, log *ocf.Logger) error {
	regions, err := c.Dirs(heartbeatDir(cluster))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot list the heartbeat regions of cluster %s: %w", cluster, err)
	}
	for _, r := range regions {
		if err := ctx.Err(); err != nil {
			return err
		}
		log.Infof("stopping heartbeat region %s", r)
		if err := c.Rmdir(regionDir(cluster, r)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot stop heartbeat region %s: %w", r, err)
		}
	}
	nodes, err := readNodes(c, cluster)
	if err != nil {
		return err
	}
	slices.SortStableFunc(nodes, func(x, y registeredNode) int {
		switch {
		case x.Local == y.Local:
			return 0
		case y.Local:
			return -1
		}
		return 1
	})
	for _, n := range nodes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.Rmdir(nodeDir(cluster, n.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot unregister node %s: %w", n.Name, err)
		}
	}
	if err := c.Rmdir(clusterDir(cluster)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot unregister cluster %s: %w", cluster, err)
	}
	return nil
}

// unmountDLMFS unmounts the ocfs2_dlmfs start mounted, unless a tool still
// holds a lock domain in it (a folder): that would pull it from under the
// tool. Failing to unmount is no reason to fail stop - O2CB is down - so it
// is only logged.
func (s *deps) unmountDLMFS(dir string, mounts []mount, log *ocf.Logger) {
	if mountedAt(mounts, dir) != "ocfs2_dlmfs" {
		return
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		log.Warnf("leaving %s mounted: lock domains %s are in use", dir, entryNames(entries))
		return
	}
	if err := s.unmount(dir); err != nil {
		log.Warnf("cannot unmount ocfs2_dlmfs at %s: %v", dir, err)
	}
}

func entryNames(entries []os.DirEntry) string {
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return strings.Join(names, ", ")
}
