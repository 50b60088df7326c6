package admin

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/capacity"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/hostcmd"
)

// readCIBFile reads a saved CIB ("-": stdin) within ctx; placement comes from its status
// section. The file must be a regular one (a FIFO or a device is refused at once) of at
// most capacity.MaxCIBSize bytes; stdin must be closed by its writer before ctx ends.
func readCIBFile(ctx context.Context, path string, stdin io.Reader) (*capacity.Cluster, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = files.ReadStream(ctx, stdin, "stdin", capacity.MaxCIBSize)
	} else {
		data, err = files.Read(ctx, path, capacity.MaxCIBSize)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the CIB: %v", err)
	}
	c, err := capacity.ParseCIB(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", agentlog.Clip(path), err)
	}
	return c, nil
}

// readLiveCluster reads the configuration with cibadmin and the node states
// and placement with crm_mon: the scheduler's own view, which a reading of
// the operation history can only approximate (migrations under way, unclean
// nodes, failed stops). Two forks for an admin command are cheap enough.
func readLiveCluster(ctx context.Context, timeout time.Duration) (*capacity.Cluster, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cib, err := hostcmd.CIB(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("cannot read the cluster's CIB (give --cib FILE to read a saved one): %v", err)
	}
	c, err := capacity.ParseCIB(cib)
	if err != nil {
		return nil, fmt.Errorf("cibadmin --query: %v", err)
	}
	mon, err := hostcmd.ClusterStatus(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot read the cluster's status: %v", err)
	}
	if err := capacity.ApplyCrmMon(c, mon); err != nil {
		return nil, fmt.Errorf("crm_mon: %v", err)
	}
	return c, nil
}
