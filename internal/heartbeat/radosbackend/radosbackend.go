// Package radosbackend is the RADOS heartbeat backend, apart from package
// heartbeat so that programs without a RADOS backend (HostHeartbeat's
// actions) do not link librados. In a pool (and optional namespace) it
// keeps kvmha.record.NODE and kvmha.message.NODE, and the omap of
// kvmha.hosts lists the registered nodes. The cephx key stays in the
// keyring file, read by librados.
package radosbackend

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/heartbeat"
)

const (
	recordPrefix  = "kvmha.record."
	messagePrefix = "kvmha.message."
	hostsObject   = "kvmha.hosts"
	// reconnectEvery limits new sessions after a failed one: a session
	// abandoned in a hung call cannot be shut down, so each costs memory.
	reconnectEvery = 10 * time.Second
	errnoShutdown  = 108 // this client is blocklisted: the session is dead
)

// Backend is one rados:// backend with its own librados session, opened
// at the first call and kept: librados reconnects by itself once the
// network is back.
type Backend struct {
	spec      heartbeat.Spec
	cfg       ceph.Config
	opTimeout time.Duration

	mu          sync.Mutex
	conn        *ceph.Conn
	lastConnect time.Time
	connErr     error
}

// Opener opens rados:// specs with cfg, and file and block ones with
// heartbeat.OpenLocal. opTimeout becomes the session's librados operation
// timeouts, so that calls abandoned on their context end soon after.
func Opener(cfg ceph.Config, opTimeout time.Duration) heartbeat.Opener {
	return func(ctx context.Context, s heartbeat.Spec) (heartbeat.Backend, error) {
		if s.Scheme != heartbeat.SchemeRADOS {
			return heartbeat.OpenLocal(ctx, s)
		}
		return &Backend{spec: s, cfg: cfg, opTimeout: opTimeout}, nil
	}
}

func (b *Backend) URI() string { return b.spec.String() }

// session returns the session, connecting when there is none (at most
// every reconnectEvery after a failure).
func (b *Backend) session(ctx context.Context) (*ceph.Conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != nil {
		return b.conn, nil
	}
	if b.connErr != nil && time.Since(b.lastConnect) < reconnectEvery {
		return nil, b.connErr
	}
	b.lastConnect = time.Now()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.opTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	conn, err := b.connect(cctx)
	b.conn, b.connErr = conn, err
	return conn, err
}

// connect opens a session: first a bounded check of the files librados will read whole
// and without a deadline (while b.mu is held, a FIFO there would hang every call of the
// backend), then ceph.Connect, which names the monitors that do not answer and why.
func (b *Backend) connect(ctx context.Context) (*ceph.Conn, error) {
	if p := b.cfg.ConfPath; p != "" {
		if err := ceph.CheckConfFile(ctx, p); err != nil {
			return nil, fmt.Errorf("ceph configuration: %w", err)
		}
	}
	if p := b.cfg.Keyring; p != "" {
		if err := ceph.CheckKeyringFile(ctx, p); err != nil {
			return nil, fmt.Errorf("ceph keyring: %w", err)
		}
	}
	return ceph.Connect(ctx, b.cfg)
}

// check drops the session when the cluster blocklisted it: no call on it
// will ever work again.
func (b *Backend) check(conn *ceph.Conn, err error) error {
	if err != nil && ceph.Errno(err) == errnoShutdown {
		b.mu.Lock()
		if b.conn == conn {
			b.conn, b.connErr = nil, err
		}
		b.mu.Unlock()
		conn.Close()
	}
	return err
}

func (b *Backend) Register(ctx context.Context, node string) error {
	conn, err := b.session(ctx)
	if err != nil {
		return err
	}
	return b.check(conn, conn.SetOmapKeys(ctx, b.spec.Pool, b.spec.Namespace, hostsObject, map[string][]byte{node: []byte("1")}))
}

func (b *Backend) write(ctx context.Context, oid string, frame []byte) error {
	conn, err := b.session(ctx)
	if err != nil {
		return err
	}
	return b.check(conn, conn.WriteObject(ctx, b.spec.Pool, b.spec.Namespace, oid, frame))
}

func (b *Backend) read(ctx context.Context, oid string, max int) ([]byte, error) {
	conn, err := b.session(ctx)
	if err != nil {
		return nil, err
	}
	data, err := readObject(ctx, conn, b.spec, oid, max)
	return data, b.check(conn, err)
}

func (b *Backend) WriteRecord(ctx context.Context, node string, frame []byte) error {
	return b.write(ctx, recordPrefix+node, frame)
}

func (b *Backend) ReadRecord(ctx context.Context, node string) ([]byte, error) {
	return b.read(ctx, recordPrefix+node, heartbeat.RecordSize)
}

func (b *Backend) WriteMessage(ctx context.Context, node string, frame []byte) error {
	return b.write(ctx, messagePrefix+node, frame)
}

func (b *Backend) ReadMessage(ctx context.Context, node string) ([]byte, error) {
	return b.read(ctx, messagePrefix+node, heartbeat.MessageSize)
}

func (b *Backend) Hosts(ctx context.Context) ([]string, error) {
	conn, err := b.session(ctx)
	if err != nil {
		return nil, err
	}
	hosts, err := listHosts(ctx, conn, b.spec)
	return hosts, b.check(conn, err)
}

// readObject reads one of the backend's objects; a missing one is
// heartbeat.ErrNotFound.
func readObject(ctx context.Context, objs Objects, spec heartbeat.Spec, oid string, max int) ([]byte, error) {
	data, err := objs.ReadObject(ctx, spec.Pool, spec.Namespace, oid, max)
	if ceph.IsNotFound(err) {
		return nil, heartbeat.ErrNotFound
	}
	return data, err
}

// listHosts reads the registered nodes from the omap of hostsObject,
// skipping keys that cannot name a node.
func listHosts(ctx context.Context, objs Objects, spec heartbeat.Spec) ([]string, error) {
	keys, err := objs.OmapKeys(ctx, spec.Pool, spec.Namespace, hostsObject)
	if ceph.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var hosts []string
	for _, k := range keys {
		if heartbeat.ValidNodeName(k) {
			hosts = append(hosts, k)
		}
	}
	return hosts, nil
}

// Addrs are this session's client addresses, nil when unknown.
func (b *Backend) Addrs(ctx context.Context) []string {
	b.mu.Lock()
	conn := b.conn
	b.mu.Unlock()
	if conn == nil {
		return nil
	}
	as, err := conn.Addrs(ctx)
	if err != nil {
		return nil
	}
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != nil {
		b.conn.Close()
		b.conn = nil
	}
	return nil
}

// Addrs returns the Ceph client addresses of the first RADOS backend among
// bs that has a session, for the record.
func Addrs(bs []heartbeat.Backend) func(ctx context.Context) []string {
	return func(ctx context.Context) []string {
		for _, b := range bs {
			if rb, ok := b.(*Backend); ok {
				if a := rb.Addrs(ctx); a != nil {
					return a
				}
			}
		}
		return nil
	}
}
