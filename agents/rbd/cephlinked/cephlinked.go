// Package cephlinked answers cephapi's questions with internal/ceph
// (go-ceph). It links librados and librbd, so only the agent's Ceph-linked
// twin (cmd/rbd, tag kvmha_ceph) imports it.
package cephlinked

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kvmha/kvmha/agents/rbd/cephapi"
	"github.com/kvmha/kvmha/internal/ceph"
)

// Open connects to the cluster (cephapi.OpenFunc). A session that cannot be opened is an
// *cephapi.ConnectError naming the monitors tried; when none answered, it ends a little
// before ctx does, so that the monitors' addresses can be dialled and the reason say what
// each one did (refused, unreachable, silent) rather than that the action ran out of time.
func Open(ctx context.Context, a cephapi.Access) (cephapi.Session, error) {
	cfg := ceph.Config{ConfPath: a.ConfPath, User: a.User, Keyring: a.Keyring, MonHosts: a.MonHosts}
	source := "mon"
	if len(a.MonHosts) == 0 {
		source = "mon_host of " + a.ConfPath
	}
	// Reading the configuration and checking mon contact no one; a setting that cannot
	// work is said so here, before any monitor is blamed.
	if len(a.MonHosts) > 0 {
		if err := ceph.CheckMonHost(strings.Join(a.MonHosts, ",")); err != nil {
			return nil, &cephapi.ParamError{Param: "mon", Err: err}
		}
	}
	monHost, err := cfg.MonHost()
	if err != nil {
		return nil, &cephapi.ParamError{Param: "cephconf", Err: fmt.Errorf("librados cannot read %s: %w", a.ConfPath, err)}
	}
	reserve := probeReserve(ctx)
	sctx, cancel := context.WithDeadline(ctx, deadline(ctx).Add(-reserve))
	defer cancel()
	started := time.Now()
	conn, err := ceph.ConnectKeyFile(sctx, cfg, a.KeyFile)
	if err == nil {
		return &session{conn: conn}, nil
	}
	ce := &cephapi.ConnectError{User: a.User, Monitors: monHost, Source: source, Err: err}
	if sctx.Err() != nil || ceph.Errno(err) == errnoTimedOut {
		ce.Timeout = time.Since(started)
		ce.Probes = probeMonitors(ctx, monHost, reserve/2)
	}
	return nil, ce
}

// errnoTimedOut is ETIMEDOUT, librados' "no monitor answered".
const errnoTimedOut = 110

// deadline is ctx's deadline, or a minute from now without one.
func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(time.Minute)
}

// probeReserve is the time kept after a silent connection attempt to dial the monitors and
// report: a fifth of what is left, between 300 ms and 3 s.
func probeReserve(ctx context.Context) time.Duration {
	return min(max(time.Until(deadline(ctx))/5, 300*time.Millisecond), 3*time.Second)
}

type session struct{ conn *ceph.Conn }

func (s *session) Image(ctx context.Context, img cephapi.Image) (cephapi.ImageInfo, error) {
	info, err := s.conn.ImageInfo(ctx, img.Pool, img.Namespace, img.Name, img.Snap)
	switch {
	case err == nil:
		return cephapi.ImageInfo{ID: info.ID, Features: info.Features, Size: info.Size}, nil
	case errors.Is(err, ceph.ErrSnapshotNotFound):
		return cephapi.ImageInfo{}, fmt.Errorf("%w: %w", cephapi.ErrSnapshotNotFound, err)
	case ceph.IsNotFound(err):
		return cephapi.ImageInfo{}, fmt.Errorf("%w: %w", cephapi.ErrImageNotFound, err)
	}
	return cephapi.ImageInfo{}, err
}

func (s *session) Holders(ctx context.Context, img cephapi.Image) (cephapi.Holders, error) {
	hs, err := s.conn.Holders(ctx, img.Pool, img.Namespace, img.Name)
	if err != nil {
		if ceph.IsNotFound(err) {
			return cephapi.Holders{}, fmt.Errorf("%w: %w", cephapi.ErrImageNotFound, err)
		}
		return cephapi.Holders{}, err
	}
	if len(hs) == 0 {
		return cephapi.Holders{}, nil
	}
	bl, blErr := s.conn.Blocklist(ctx)
	out := cephapi.Holders{BlocklistUnknown: blErr}
	for _, h := range hs {
		out.List = append(out.List, cephapi.Holder{
			Client:      h.Entity,
			Address:     h.Addr.String(),
			Kind:        h.Kind.String(),
			Cookie:      h.Cookie,
			Blocklisted: blErr == nil && bl.IsBlocklisted(h.Addr),
		})
	}
	return out, nil
}

func (s *session) BreakLock(ctx context.Context, img cephapi.Image, h cephapi.Holder) error {
	addr, err := ceph.ParseEntityAddr(h.Address)
	if err != nil {
		return err
	}
	return s.conn.BreakLock(ctx, ceph.Holder{Kind: ceph.Locker, Entity: h.Client, Addr: addr, Cookie: h.Cookie,
		Pool: img.Pool, Namespace: img.Namespace, Image: img.Name})
}

func (s *session) Monitors() ([]cephapi.Monitor, error) {
	mons, err := s.conn.MonitorAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]cephapi.Monitor, 0, len(mons))
	for _, m := range mons {
		out = append(out, cephapi.Monitor{Msgr1: m.V1, Msgr2: m.V2})
	}
	return out, nil
}

func (s *session) MonHost() (string, error) { return s.conn.ConfigOption("mon_host") }

func (s *session) KeyringPaths() ([]string, error) { return s.conn.KeyringPaths() }

func (s *session) Close() { s.conn.Close() }
