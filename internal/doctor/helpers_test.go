package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/heartbeat"
)

// fakeTree writes files into a fresh folder and returns it as a Root.
// A value starting with "->" makes a symbolic link to the rest.
func fakeTree(t *testing.T, files map[string]string) Root {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return Root(root)
}

// errno is a librados-style error carrying an errno (what ceph.Errno reads).
type errno int

func (e errno) Error() string  { return fmt.Sprintf("rados: ret=-%d", int(e)) }
func (e errno) ErrorCode() int { return -int(e) }

// fakeSession is a Ceph cluster in memory: pools → namespace → image →
// features.
type fakeSession struct {
	mu       sync.Mutex
	pools    map[string]map[string]map[string]uint64
	denied   map[string]bool // pools the user may not read
	stamp    func() string
	stampErr error
	skews    map[string]float64
	closed   bool
}

func (f *fakeSession) ListImages(_ context.Context, pool, ns string) ([]string, error) {
	if f.denied[pool] {
		return nil, errno(1)
	}
	p, ok := f.pools[pool]
	if !ok {
		return nil, errno(2)
	}
	imgs, ok := p[ns]
	if !ok {
		return nil, errno(2)
	}
	var names []string
	for n := range imgs {
		names = append(names, n)
	}
	return names, nil
}

func (f *fakeSession) ImageFeatures(_ context.Context, pool, ns, image string) (uint64, error) {
	v, ok := f.pools[pool][ns][image]
	if !ok {
		return 0, errno(2)
	}
	return v, nil
}

func (f *fakeSession) MonTimestamp(context.Context) (string, error) {
	if f.stampErr != nil {
		return "", f.stampErr
	}
	return f.stamp(), nil
}

func (f *fakeSession) MonTimeSkews(context.Context) (map[string]float64, error) { return f.skews, nil }

func (f *fakeSession) Close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
}

// fakeMon listens on 127.0.0.1 and greets every connection with banner;
// it returns its address.
func fakeMon(t *testing.T, banner string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(banner))
			time.AfterFunc(time.Second, func() { c.Close() })
		}
	}()
	return l.Addr().String()
}

// closedPort is a local port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// testDoctor is a Doctor on root whose monitors are mons (--mon-host), whose
// Ceph session is s (nil: connecting fails with connectErr) and whose
// libvirtd is lv.
func testDoctor(root Root, mons []string, s CephSession, connectErr error) *Doctor {
	var dialer net.Dialer
	return &Doctor{
		Root:  root,
		Ceph:  ceph.Config{User: "kvmha", MonHosts: mons},
		Pools: []Pool{{Name: "rbd"}},
		ConnectCeph: func(context.Context, ceph.Config) (CephSession, error) {
			if s == nil {
				return nil, connectErr
			}
			return s, nil
		},
		MonHost:         ceph.Config.MonHost,
		Resolver:        net.DefaultResolver,
		DialTCP:         dialer.DialContext,
		DialLibvirt:     func(context.Context, string) (Libvirt, error) { return nil, errors.New("no libvirtd in unit tests") },
		NodeName:        func(context.Context) (string, error) { return "", ErrNoPacemaker },
		CIB:             func(context.Context) ([]byte, error) { return nil, ErrNoPacemaker },
		HeartbeatOpener: func(ceph.Config) heartbeat.Opener { return heartbeat.OpenLocal },
		Now:             time.Now,
	}
}

// runNamed runs the named checks of d and returns their results by name.
func runNamed(t *testing.T, d *Doctor, names ...string) map[string]Result {
	t.Helper()
	checks, err := Select(d.Checks(), names, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := map[string]Result{}
	for _, r := range d.Run(ctx, checks) {
		out[r.Check] = r
	}
	return out
}

// expect checks a result's status and that its detail (and fix) contain
// the given texts.
func expect(t *testing.T, r Result, status Status, detail string, fix string) {
	t.Helper()
	if r.Status != status || !strings.Contains(r.Detail, detail) || !strings.Contains(r.Fix, fix) {
		t.Errorf("%s: got %s %q (fix %q); want %s with %q (fix with %q)", r.Check, r.Status, r.Detail, r.Fix, status, detail, fix)
	}
	if (r.Status == Fail || r.Status == Warn) && r.Fix == "" {
		t.Errorf("%s: %s without a fix", r.Check, r.Status)
	}
}
