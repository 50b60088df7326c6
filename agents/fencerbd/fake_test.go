package fencerbd

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
)

// fakeCluster is an in-memory cluster: a blocklist, objects, holders.
type fakeCluster struct {
	mu       sync.Mutex
	bl       ceph.Blocklist
	expires  map[string]time.Duration
	objects  map[string][]byte // the config-key store
	holders  map[string][]ceph.Holder
	waits    int
	addErr   error
	writeErr error
	readErr  error
	dials    int
	// RADOS objects by "pool/namespace/oid", and their omap keys.
	rados    map[string][]byte
	omap     map[string][]string
	radosErr error
	hang     bool // RADOS reads block until their context ends
	mons     []ceph.MonAddrs
	own      []ceph.EntityAddr // the session's addresses
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{expires: map[string]time.Duration{}, objects: map[string][]byte{}, holders: map[string][]ceph.Holder{},
		rados: map[string][]byte{}, omap: map[string][]string{},
		mons: []ceph.MonAddrs{{V1: netip.MustParseAddrPort("10.0.9.1:6789"), V2: netip.MustParseAddrPort("10.0.9.1:3300")}}}
}

// notFound looks like librados' ENOENT to ceph.IsNotFound.
type notFound struct{}

func (notFound) Error() string  { return "rados: ret=-2, No such file or directory" }
func (notFound) ErrorCode() int { return -2 }

func (f *fakeCluster) Blocklist(context.Context) (ceph.Blocklist, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(ceph.Blocklist(nil), f.bl...), nil
}

func (f *fakeCluster) BlocklistAdd(_ context.Context, e ceph.BlocklistEntry, expire time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.addErr != nil {
		return f.addErr
	}
	if !f.bl.Contains(e) {
		f.bl = append(f.bl, e)
	}
	f.expires[e.String()] = expire
	return nil
}

func (f *fakeCluster) BlocklistRemove(_ context.Context, e ceph.BlocklistEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.bl[:0]
	for _, x := range f.bl {
		if !x.Same(e) {
			out = append(out, x)
		}
	}
	f.bl = out
	return nil
}

func (f *fakeCluster) WaitForLatestOSDMap(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits++
	return nil
}

func (f *fakeCluster) PoolHolders(_ context.Context, pool, ns string) ([]ceph.Holder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.holders[pool+"/"+ns], nil
}

func (f *fakeCluster) ConfigKeyGet(_ context.Context, k string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readErr != nil {
		return nil, f.readErr
	}
	d, ok := f.objects[k]
	if !ok {
		return nil, notFound{}
	}
	return d, nil
}

func (f *fakeCluster) ConfigKeySet(_ context.Context, k string, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.writeErr != nil {
		return f.writeErr
	}
	f.objects[k] = data
	return nil
}

func (f *fakeCluster) ConfigKeyRemove(_ context.Context, k string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.objects, k)
	return nil
}

var errBoom = errors.New("boom")

func (f *fakeCluster) radosCall(ctx context.Context) error {
	f.mu.Lock()
	hang, err := f.hang, f.radosErr
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

func (f *fakeCluster) ReadObject(ctx context.Context, pool, ns, oid string, max int) ([]byte, error) {
	if err := f.radosCall(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.rados[pool+"/"+ns+"/"+oid]
	if !ok {
		return nil, notFound{}
	}
	return append([]byte(nil), d[:min(len(d), max)]...), nil
}

func (f *fakeCluster) OmapKeys(ctx context.Context, pool, ns, oid string) ([]string, error) {
	if err := f.radosCall(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	keys, ok := f.omap[pool+"/"+ns+"/"+oid]
	if !ok {
		return nil, notFound{}
	}
	return append([]string(nil), keys...), nil
}

func (f *fakeCluster) MonitorAddrs() ([]ceph.MonAddrs, error) { return f.mons, nil }

func (f *fakeCluster) Addrs(context.Context) ([]ceph.EntityAddr, error) { return f.own, nil }
