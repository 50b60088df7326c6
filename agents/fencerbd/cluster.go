package fencerbd

import (
	"context"
	"sync"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
)

// cluster is what fence_rbd needs from Ceph; *ceph.Conn is one, tests use
// a fake.
type cluster interface {
	Blocklist(ctx context.Context) (ceph.Blocklist, error)
	BlocklistAdd(ctx context.Context, e ceph.BlocklistEntry, expire time.Duration) error
	BlocklistRemove(ctx context.Context, e ceph.BlocklistEntry) error
	WaitForLatestOSDMap(ctx context.Context) error
	PoolHolders(ctx context.Context, pool, namespace string) ([]ceph.Holder, error)
	ConfigKeyGet(ctx context.Context, key string) ([]byte, error)
	ConfigKeySet(ctx context.Context, key string, value []byte) error
	ConfigKeyRemove(ctx context.Context, key string) error
}

func dialCeph(ctx context.Context, cfg ceph.Config) (cluster, error) {
	return ceph.Connect(ctx, cfg)
}

// fencer holds one run's session: status, off and on of the same run share
// it (the runtime calls status before and after the command).
type fencer struct {
	dial func(context.Context, ceph.Config) (cluster, error)
	// hostname names the node that runs fence_rbd in records; tests set it.
	hostname string

	mu   sync.Mutex
	conn cluster
}

func (f *fencer) connect(ctx context.Context, s settings) (cluster, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn != nil {
		return f.conn, nil
	}
	c, err := f.dial(ctx, s.cfg)
	if err != nil {
		return nil, err
	}
	f.conn = c
	return c, nil
}
