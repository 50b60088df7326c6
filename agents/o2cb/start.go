package o2cb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/o2cbconf"
	"github.com/kvmha/kvmha/internal/ocf"
)

// start brings the cluster up step by step; every step first looks whether
// it is done, so that start is idempotent and completes a half-done start.
func (a *agent) start(ctx context.Context, req *ocf.Request) error {
	s := settingsOf(req)
	l, err := a.loadLayout(ctx, req, s)
	if err != nil {
		return err
	}
	st, err := a.loadState(s.cluster)
	if err != nil {
		req.Log.Warnf("%v; starting afresh", err)
	}
	// The record comes first: whatever this start gets done, a stop must find it.
	var rec record
	if ok, err := req.LoadRecord(&rec); err != nil || !ok || rec.Cluster != s.cluster {
		rec = record{Cluster: s.cluster}
	}
	if err := saveRecord(req, rec); err != nil {
		return err
	}
	// Global heartbeat devices are looked at first: a wrong device must fail
	// start before anything changes.
	regions, err := a.resolveRegions(ctx, l)
	if err != nil {
		return err
	}
	if s.manageConf {
		if err := writeClusterConf(ctx, s.clusterConf, l, regions, req.Log); err != nil {
			return err
		}
	}
	if err := a.ensureModules(ctx, req.Log); err != nil {
		return err
	}
	if mounted, err := a.ensureConfigfs(); err != nil {
		return err
	} else if mounted {
		rec.MountedConfigfs = true
		if err := saveRecord(req, rec); err != nil {
			return err
		}
	}
	if err := a.ensureClusterStack(); err != nil {
		return err
	}
	if err := a.ensureDLMFS(s.dlmfsDir, &st, s.cluster); err != nil {
		return err
	}
	if st.MountedDLMFS != "" && rec.MountedDLMFS != st.MountedDLMFS {
		rec.MountedDLMFS = st.MountedDLMFS
		if err := saveRecord(req, rec); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	attrs := clusterAttrs{timeouts: s.timeouts, fenceMethod: s.fenceMethod, heartbeatMode: l.HeartbeatMode}
	if err := registerCluster(a.configfs, l, attrs, req.Log); err != nil {
		return err
	}
	if l.HeartbeatMode == o2cbconf.HeartbeatGlobal {
		if err := a.startRegions(ctx, l.Name, regions, &st, req.Log); err != nil {
			return err
		}
	}
	req.Log.Infof("O2CB cluster %s is up: %d nodes, local node %s (%d), %s heartbeat",
		l.Name, len(l.Nodes), l.Local.Name, l.Local.Number, l.HeartbeatMode)
	return nil
}

// ensureConfigfs mounts configfs where the kernel made its mount point, and reports
// whether it did.
func (s *deps) ensureConfigfs() (bool, error) {
	mounts, err := s.readMounts()
	if err != nil {
		return false, err
	}
	if mountedAt(mounts, s.configfsDir) == "configfs" {
		return false, nil
	}
	if err := s.mount("configfs", s.configfsDir, "configfs"); err != nil {
		return false, fmt.Errorf("cannot mount configfs at %s: %w", s.configfsDir, err)
	}
	return true, nil
}

// ensureClusterStack selects o2cb in /sys/fs/ocfs2/cluster_stack. The
// kernel refuses a switch while volumes of another stack are mounted.
func (s *deps) ensureClusterStack() error {
	file := s.clusterStackFile()
	data, err := os.ReadFile(file)
	if err != nil {
		return ocf.Errorf(ocf.ErrInstalled, "cannot read %s (is ocfs2_stackglue loaded?): %v", file, err)
	}
	cur := strings.TrimSpace(string(data))
	if cur == "o2cb" {
		return nil
	}
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err == nil {
		_, err = f.Write([]byte("o2cb\n"))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if errors.Is(err, syscall.EBUSY) {
		return fmt.Errorf("OCFS2 uses the %s cluster stack with volumes mounted; it can switch to o2cb only once they are unmounted", cur)
	}
	if err != nil {
		return fmt.Errorf("cannot switch the OCFS2 cluster stack from %s to o2cb: %w", cur, err)
	}
	return nil
}

// ensureDLMFS mounts ocfs2_dlmfs unless it is mounted, and remembers that
// the mount is ours.
func (s *deps) ensureDLMFS(dir string, st *state, cluster string) error {
	mounts, err := s.readMounts()
	if err != nil {
		return err
	}
	switch fstype := mountedAt(mounts, dir); fstype {
	case "ocfs2_dlmfs":
		return nil
	case "":
	default:
		return ocf.ParamErrorf(pDLMFSDir, "%s is mounted there, not ocfs2_dlmfs: choose another %s (%s)", agentlog.Clip(fstype), pDLMFSDir, agentlog.Clip(dir))
	}
	if err := checkDLMFSDir(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%s: cannot create %s: %w", pDLMFSDir, agentlog.Clip(dir), files.Cause(err))
	}
	if err := s.mount("ocfs2_dlmfs", dir, "ocfs2_dlmfs"); err != nil {
		return fmt.Errorf("cannot mount ocfs2_dlmfs at %s: %w", dir, err)
	}
	st.MountedDLMFS = dir
	if err := s.saveState(cluster, *st); err != nil {
		return fmt.Errorf("cannot record the dlmfs mount: %w", err)
	}
	return nil
}

// checkDLMFSDir refuses a dlmfs_dir that exists as something else than a folder: no
// mount point can be made there.
func checkDLMFSDir(dir string) error {
	st, err := os.Stat(dir)
	if err == nil && !st.IsDir() {
		return ocf.ParamErrorf(pDLMFSDir, "not a directory: %s", agentlog.Clip(dir))
	}
	return nil
}

// registerCluster creates the cluster, sets its attributes, registers the
// nodes and makes this node the local one (which starts o2net listening),
// in that order: the o2net timeouts cannot change once a peer connected.
func registerCluster(c configFS, l *layout, attrs clusterAttrs, log *ocf.Logger) error {
	clusters, err := registeredClusters(c)
	if err != nil {
		return err
	}
	for _, other := range clusters {
		if other != l.Name {
			return fmt.Errorf("O2CB cluster %s is registered in the kernel, which runs one cluster at a time: take it offline first", other)
		}
	}
	if !slices.Contains(clusters, l.Name) {
		if err := c.Mkdir(clusterDir(l.Name)); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return fmt.Errorf("cannot register cluster %s: the kernel has another O2CB cluster", l.Name)
			}
			if errors.Is(err, os.ErrNotExist) {
				return ocf.Errorf(ocf.ErrInstalled, "configfs has no O2CB \"cluster\" folder: the ocfs2_nodemanager module is missing")
			}
			return fmt.Errorf("cannot register cluster %s: %w", l.Name, err)
		}
	}
	if err := applyClusterAttrs(c, l.Name, attrs); err != nil {
		return err
	}
	registered, err := readNodes(c, l.Name)
	if err != nil {
		return err
	}
	byName := map[string]registeredNode{}
	for _, r := range registered {
		byName[r.Name] = r
	}
	for _, want := range l.Nodes {
		r, ok := byName[want.Name]
		if !ok {
			if err := registerNode(c, l.Name, want); err != nil {
				return err
			}
			continue
		}
		if d := r.differs(want); d != "" {
			return fmt.Errorf("node %s is registered with %s; node attributes cannot change while the cluster runs: stop it first", want.Name, d)
		}
	}
	for _, r := range registered {
		if !slices.ContainsFunc(l.Nodes, func(n o2cbconf.Node) bool { return n.Name == r.Name }) {
			log.Warnf("node %s is registered but not in %s; it stays until the cluster is stopped", r.Name, l.Source)
		}
	}
	if local := localNode(registered); local != "" && local != l.Local.Name {
		return fmt.Errorf("the kernel's local node is %s, but this node is %s in %s: stop the cluster first", local, l.Local.Name, l.Source)
	}
	if r, ok := byName[l.Local.Name]; ok && r.Local {
		return nil
	}
	return setLocal(c, l.Name, l.Local.Name)
}
