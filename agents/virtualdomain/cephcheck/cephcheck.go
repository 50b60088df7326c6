// Package cephcheck answers rbdcheck's questions with a Ceph session
// (internal/ceph, go-ceph). It links librados and librbd, so only the
// VirtualDomain-ceph build of the agent imports it (see package rbdcheck).
package cephcheck

import (
	"context"
	"fmt"

	"github.com/kvmha/kvmha/agents/virtualdomain/rbdcheck"
	"github.com/kvmha/kvmha/internal/ceph"
)

// Open connects to the cluster (rbdcheck.OpenFunc).
func Open(ctx context.Context, a rbdcheck.Access) (rbdcheck.Inspector, error) {
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
func (i *inspector) Inspect(ctx context.Context, img rbdcheck.Image) (rbdcheck.Status, error) {
	holders, err := i.conn.Holders(ctx, img.Pool, img.Namespace, img.Name)
	if ceph.IsNotFound(err) {
		return rbdcheck.Status{}, nil
	}
	if err != nil {
		return rbdcheck.Status{}, err
	}
	st := rbdcheck.Status{Exists: true}
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
		st.Holders = append(st.Holders, rbdcheck.Holder{
			Address:     h.Addr.String(),
			IP:          h.Addr.IP,
			Client:      h.Entity,
			Kind:        h.Kind.String(),
			Blocklisted: i.blErr == nil && i.blocklist.IsBlocklisted(h.Addr),
		})
	}
	return st, nil
}

func (i *inspector) Close() { i.conn.Close() }
