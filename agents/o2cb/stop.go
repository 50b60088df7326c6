package o2cb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/kvmha/kvmha/internal/ocf"
)

// stop takes the cluster out of the kernel unless an OCFS2 volume is
// mounted. Refusing is the lesser evil: without O2CB a mounted volume hangs
// its users at the next lock, and Pacemaker treats the failed stop by
// fencing the node - which a correct ordering (Filesystem resources stop
// first) never triggers.
func (a *agent) stop(ctx context.Context, req *ocf.Request) error {
	s := settingsOf(req)
	sys := a.sys
	mounts, err := sys.readMounts()
	if err != nil {
		return err
	}
	mounted := ocfs2Mounts(mounts)
	registered, err := sys.clusterRegistered(mounts, s.cluster, true)
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
		if err := unregisterCluster(ctx, sys.Configfs, s.cluster, req.Log); err != nil {
			return err
		}
		req.Log.Infof("O2CB cluster %s is down", s.cluster)
	}
	st, err := sys.loadState(s.cluster)
	if err != nil {
		req.Log.Warnf("%v; leaving ocfs2_dlmfs mounted", err)
	}
	if st.MountedDLMFS != "" {
		sys.unmountDLMFS(st.MountedDLMFS, mounts, req.Log)
	}
	if err := sys.removeState(s.cluster); err != nil {
		req.Log.Warnf("cannot remove %s: %v", sys.statePath(s.cluster), err)
	}
	return nil
}

// clusterRegistered looks for the cluster in configfs. When configfs is not
// mounted the answer is only certain if the node manager is not loaded
// (nothing can be registered then); otherwise configfs is mounted to look,
// if mayMount, as start would.
func (s *System) clusterRegistered(mounts []mount, cluster string, mayMount bool) (bool, error) {
	if mountedAt(mounts, s.ConfigfsDir) != "configfs" {
		if !s.nodeManagerLoaded() {
			return false, nil
		}
		if !mayMount {
			return false, fmt.Errorf("configfs is not mounted at %s, so whether O2CB cluster %s is registered cannot be seen", s.ConfigfsDir, cluster)
		}
		if err := s.ensureConfigfs(); err != nil {
			return false, err
		}
	}
	clusters, err := registeredClusters(s.Configfs)
	if err != nil {
		return false, err
	}
	return slices.Contains(clusters, cluster), nil
}

// nodeManagerLoaded reports whether the O2CB node manager, the keeper of
// configfs' "cluster" tree, is in the kernel.
func (s *System) nodeManagerLoaded() bool {
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
func (s *System) unmountDLMFS(dir string, mounts []mount, log *ocf.Logger) {
	if mountedAt(mounts, dir) != "ocfs2_dlmfs" {
		return
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		log.Warnf("leaving %s mounted: lock domains %s are in use", dir, entryNames(entries))
		return
	}
	if err := s.Unmount(dir); err != nil {
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
