package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/radosbackend"
	"github.com/kvmha/kvmha/internal/hostcmd"
	"github.com/kvmha/kvmha/internal/libvirt"
)

// New returns a Doctor of this host: its files, its resolver, librados,
// libvirtd and Pacemaker. The caller fills in the configuration.
func New() *Doctor {
	var dialer net.Dialer
	return &Doctor{
		Root:        "/",
		ConnectCeph: connectCeph,
		MonHost:     monHost,
		Resolver:    net.DefaultResolver,
		DialTCP:     dialer.DialContext,
		DialLibvirt: func(ctx context.Context, uri string) (Libvirt, error) { return libvirt.Dial(ctx, uri) },
		NodeName:    crmNodeName,
		CIB:         liveCIB,
		HeartbeatOpener: func(cfg ceph.Config) heartbeat.Opener {
			return radosbackend.Opener(cfg, 3*time.Second)
		},
		Now: time.Now,
	}
}

// monHost is ceph.Config.MonHost after a bounded check of the configuration file, which
// librados reads whole and without a deadline (a FIFO would hang the check, /dev/zero
// grow the process).
func monHost(cfg ceph.Config) (string, error) {
	if len(cfg.MonHosts) == 0 && cfg.ConfPath != "" {
		if err := ceph.CheckConfFile(context.Background(), cfg.ConfPath); err != nil {
			return "", fmt.Errorf("ceph: %w", err)
		}
	}
	return cfg.MonHost()
}

// cephConn adapts *ceph.Conn to CephSession.
type cephConn struct{ *ceph.Conn }

func connectCeph(ctx context.Context, cfg ceph.Config) (CephSession, error) {
	c, err := ceph.Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return cephConn{c}, nil
}

func (c cephConn) ImageFeatures(ctx context.Context, pool, namespace, image string) (uint64, error) {
	info, err := c.ImageInfo(ctx, pool, namespace, image, "")
	return info.Features, err
}

// liveCIB is the running cluster's configuration. It forks cibadmin: the
// CIB's own IPC has no Go client.
func liveCIB(ctx context.Context) ([]byte, error) {
	data, err := hostcmd.CIB(ctx, "configuration")
	if errors.Is(err, hostcmd.ErrNotInstalled) {
		return nil, ErrNoPacemaker
	}
	return data, err
}

// crmNodeName asks Pacemaker for this node's name. It forks crm_node: the
// name comes from the cluster layer (corosync's nodelist entry of this
// node, or the host name), which has no Go client and no file that holds
// the answer.
func crmNodeName(ctx context.Context) (string, error) {
	name, err := hostcmd.NodeName(ctx)
	switch {
	case errors.Is(err, hostcmd.ErrNotInstalled):
		return "", ErrNoPacemaker
	case err != nil:
		return "", err
	case !heartbeat.ValidNodeName(name):
		return "", fmt.Errorf("crm_node -n printed %q", agentlog.Clip(name))
	}
	return name, nil
}
