// Package cephlinked answers cephapi's questions with a Ceph session
// (internal/ceph, go-ceph). It links librados and librbd, so only the
// agent's Ceph-linked twin (cmd/VirtualDomain, tag kvmha_ceph) imports it.
package cephlinked

import (
	"context"
	"fmt"
	"time"

	"github.com/kvmha/kvmha/agents/virtualdomain/cephapi"
	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/radosbackend"
)

// Open connects to the cluster (cephapi.OpenFunc).
func Open(ctx context.Context, a cephapi.Access) (cephapi.Inspector, error) {
	conn, err := ceph.Connect(ctx, ceph.Config{ConfPath: a.ConfPath, User: a.User, Keyring: a.Keyring, MonHosts: a.MonHosts})
	if err != nil {
		return nil, err
	}
	return &inspector{conn: conn}, nil
}

type inspector struct {
	conn      *ceph.Conn
	blocklist ceph.Blocklist
	blErr     error
	blRead    bool
}

// Inspect lists the image's watchers and lockers and marks those the OSD
// blocklist fences. The blocklist is read once per session, and only when
// an image has holders.
func (i *inspector) Inspect(ctx context.Context, img cephapi.Image) (cephapi.Status, error) {
	holders, err := i.conn.Holders(ctx, img.Pool, img.Namespace, img.Name)
	if ceph.IsNotFound(err) {
		return cephapi.Status{}, nil
	}
	if err != nil {
		return cephapi.Status{}, err
	}
	st := cephapi.Status{Exists: true}
	if len(holders) == 0 {
		return st, nil
	}
	if !i.blRead {
		i.blocklist, i.blErr = i.conn.Blocklist(ctx)
		i.blRead = true
		if i.blErr != nil {
			i.blErr = fmt.Errorf("osd blocklist ls: %w", i.blErr)
		}
	}
	st.BlocklistUnknown = i.blErr
	for _, h := range holders {
		st.Holders = append(st.Holders, cephapi.Holder{
			Address:     h.Addr.String(),
			IP:          h.Addr.IP,
			Client:      h.Entity,
			Kind:        h.Kind.String(),
			Blocklisted: i.blErr == nil && i.blocklist.IsBlocklisted(h.Addr),
		})
	}
	return st, nil
}

// clientFenceExpire is how long a dead client instance stays blocklisted:
// long enough for whoever takes its image over to break its lock.
const clientFenceExpire = 30 * 24 * time.Hour

// FenceClient blocklists one client instance.
func (i *inspector) FenceClient(ctx context.Context, address string) error {
	addr, err := ceph.ParseEntityAddr(address)
	if err != nil {
		return err
	}
	if addr.Nonce == 0 {
		return fmt.Errorf("%s names every client of its host, not one instance", address)
	}
	if err := i.conn.BlocklistAdd(ctx, ceph.BlocklistEntry{Addr: addr}, clientFenceExpire); err != nil {
		return err
	}
	i.blRead = false // read it again: the instance is in it now
	return nil
}

func (i *inspector) Close() { i.conn.Close() }

// HeartbeatBackend reads a rados:// heartbeat backend through this session
// (cephapi.HeartbeatReader).
func (i *inspector) HeartbeatBackend(spec heartbeat.Spec) heartbeat.Backend {
	return radosbackend.ReadOnly(spec, func(context.Context) (radosbackend.Objects, error) { return i.conn, nil })
}
