// Package cephsession answers rbdceph's questions with internal/ceph
// (go-ceph). It links librados and librbd, so only the agent's Ceph-linked
// build (cmd/rbd, tag kvmha_ceph) imports it.
package cephsession

import (
	"context"
	"errors"
	"fmt"

	"github.com/kvmha/kvmha/agents/rbd/rbdceph"
	"github.com/kvmha/kvmha/internal/ceph"
)

// Open connects to the cluster (rbdceph.OpenFunc).
func Open(ctx context.Context, a rbdceph.Access) (rbdceph.Session, error) {
	cfg := ceph.Config{ConfPath: a.ConfPath, User: a.User, Keyring: a.Keyring, MonHosts: a.MonHosts}
	conn, err := ceph.ConnectKeyFile(ctx, cfg, a.KeyFile)
	if err != nil {
		return nil, err
	}
	return &session{conn: conn}, nil
}

type session struct{ conn *ceph.Conn }

func (s *session) Image(ctx context.Context, img rbdceph.Image) (rbdceph.ImageInfo, error) {
	info, err := s.conn.ImageInfo(ctx, img.Pool, img.Namespace, img.Name, img.Snap)
	switch {
	case err == nil:
		return rbdceph.ImageInfo{ID: info.ID, Features: info.Features, Size: info.Size}, nil
	case errors.Is(err, ceph.ErrSnapshotNotFound):
		return rbdceph.ImageInfo{}, fmt.Errorf("%w: %w", rbdceph.ErrSnapshotNotFound, err)
	case ceph.IsNotFound(err):
		return rbdceph.ImageInfo{}, fmt.Errorf("%w: %w", rbdceph.ErrImageNotFound, err)
	}
	return rbdceph.ImageInfo{}, err
}

func (s *session) Holders(ctx context.Context, img rbdceph.Image) (rbdceph.Holders, error) {
	hs, err := s.conn.Holders(ctx, img.Pool, img.Namespace, img.Name)
	if err != nil {
		if ceph.IsNotFound(err) {
			return rbdceph.Holders{}, fmt.Errorf("%w: %w", rbdceph.ErrImageNotFound, err)
		}
		return rbdceph.Holders{}, err
	}
	if len(hs) == 0 {
		return rbdceph.Holders{}, nil
	}
	bl, blErr := s.conn.Blocklist(ctx)
	out := rbdceph.Holders{BlocklistUnknown: blErr}
	for _, h := range hs {
		out.List = append(out.List, rbdceph.Holder{
			Client:      h.Entity,
			Address:     h.Addr.String(),
			Kind:        h.Kind.String(),
			Cookie:      h.Cookie,
			Blocklisted: blErr == nil && bl.IsBlocklisted(h.Addr),
		})
	}
	return out, nil
}

func (s *session) BreakLock(ctx context.Context, img rbdceph.Image, h rbdceph.Holder) error {
	addr, err := ceph.ParseEntityAddr(h.Address)
	if err != nil {
		return err
	}
	return s.conn.BreakLock(ctx, ceph.Holder{Kind: ceph.Locker, Entity: h.Client, Addr: addr, Cookie: h.Cookie,
		Pool: img.Pool, Namespace: img.Namespace, Image: img.Name})
}

func (s *session) Monitors() ([]rbdceph.Monitor, error) {
	mons, err := s.conn.MonitorAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]rbdceph.Monitor, 0, len(mons))
	for _, m := range mons {
		out = append(out, rbdceph.Monitor{Msgr1: m.V1, Msgr2: m.V2})
	}
	return out, nil
}

func (s *session) MonHost() (string, error) { return s.conn.ConfigOption("mon_host") }

func (s *session) KeyringPaths() ([]string, error) { return s.conn.KeyringPaths() }

func (s *session) Close() { s.conn.Close() }
