package fencerbd

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/heartbeat"
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
	// For rados:// heartbeat backends, read through this same session.
	ReadObject(ctx context.Context, pool, namespace, oid string, max int) ([]byte, error)
	OmapKeys(ctx context.Context, pool, namespace, oid string) ([]string, error)
	// Addresses a heartbeat record must never make fence_rbd blocklist:
	// the monitors' and this session's own.
	MonitorAddrs() ([]ceph.MonAddrs, error)
	Addrs(ctx context.Context) ([]ceph.EntityAddr, error)
}

func dialCeph(ctx context.Context, cfg ceph.Config) (cluster, error) {
	return ceph.Connect(ctx, cfg)
}

// deps is what fence_rbd takes from outside its process; tests fill it with fakes. A field
// left unset means what its comment says.
type deps struct {
	dial func(context.Context, ceph.Config) (cluster, error)
	// hostname names the node that runs fence_rbd in records (os.Hostname when "").
	hostname string
	// openLocal opens file:// and block:// heartbeat backends
	// (heartbeat.OpenLocal when nil; tests use in-memory ones).
	openLocal heartbeat.Opener
	// localAddrs lists this host's addresses (its interfaces' when nil).
	localAddrs func() ([]netip.Addr, error)
	// recordWait bounds the heartbeat record read (maxRecordWait when 0).
	recordWait time.Duration
	// parent is the pid of the process that ran fence_rbd (pacemaker-fenced),
	// ppid tells the current one; both unset in tests that do not care.
	parent int
	ppid   func() int
}

// productionDeps is this host, run by pacemaker-fenced.
func productionDeps() deps { return deps{dial: dialCeph, parent: os.Getppid(), ppid: os.Getppid} }

// fencer holds one run's state: status, off and on of the same run share
// the session and the target (the runtime calls status before and after
// the command).
type fencer struct {
	deps

	mu      sync.Mutex
	dialing *dialing
	targets map[string]target // resolved plugs

	hbMu     sync.Mutex
	backends []heartbeat.Backend
}

// dialing is a connection being made, or made.
type dialing struct {
	done chan struct{}
	c    cluster
	err  error
}

// startConnect starts connecting unless this run did already, so that
// other work (reading the target's heartbeat record) goes on meanwhile.
// ctx must be the action's: the session's librados timeouts come from its
// deadline. A run connects once; a failure stays its answer.
func (f *fencer) startConnect(ctx context.Context, s settings) *dialing {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dialing != nil {
		return f.dialing
	}
	d := &dialing{done: make(chan struct{})}
	f.dialing = d
	go func() {
		d.c, d.err = f.dial(ctx, s.cfg)
		close(d.done)
	}()
	return d
}

// waitGrace is how long wait still waits for the connection's own error
// once ctx ended: the connection runs on the action's context too, and its
// error says what it was waiting for.
const waitGrace = 100 * time.Millisecond

// wait returns the connection once it is made, or when ctx ends.
func (d *dialing) wait(ctx context.Context) (cluster, error) {
	select {
	case <-d.done:
		return d.c, d.err
	case <-ctx.Done():
	}
	t := time.NewTimer(waitGrace)
	defer t.Stop()
	select {
	case <-d.done:
		if d.err != nil {
			return nil, d.err
		}
	case <-t.C:
	}
	return nil, fmt.Errorf("connecting to the cluster: no session before the action's deadline: %w", ctx.Err())
}

// orphaned reports whether the process that ran fence_rbd is gone. An
// unfencing request is then moot: nobody waits for its result, and the
// fencer that asked may have been stopped because its node was just
// fenced (see on).
func (f *fencer) orphaned() bool {
	return f.parent > 1 && f.ppid != nil && f.ppid() != f.parent
}

func (f *fencer) connect(ctx context.Context, s settings) (cluster, error) {
	return f.startConnect(ctx, s).wait(ctx)
}
