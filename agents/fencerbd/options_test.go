package fencerbd

import (
	"bytes"
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/files/filestest"
)

// TestOptionFilesAreReadBounded: ceph_conf and ceph_keyring naming a FIFO,
// a device or a directory fail at once, naming the option, before librados
// could block on them or read them without end.
func TestOptionFilesAreReadBounded(t *testing.T) {
	hostile := filestest.NewHostile(t)
	dir, fifo := hostile.Dir, hostile.FIFO
	empty := filestest.WriteFile(t, filepath.Join(dir, "empty"), "")
	for _, tc := range []struct{ opt, path, why string }{
		{"ceph_conf", fifo, "a FIFO"},
		{"ceph_conf", "/dev/zero", "a character device"},
		{"ceph_conf", dir, "a directory"},
		{"ceph_conf", filepath.Join(dir, "missing"), "no such file"},
		{"ceph_keyring", fifo, "a FIFO"},
		{"ceph_keyring", "/dev/zero", "a character device"},
		{"ceph_keyring", dir, "a directory"},
		{"ceph_keyring", empty, "is empty"},
		{"ceph_conf", "/" + strings.Repeat("x", 100<<10), "..."},
	} {
		for _, action := range []string{"validate-all", "off\nplug=node1", "monitor"} {
			c := newFakeCluster()
			start := time.Now()
			code, _, errs := run(t, c, "action="+action+"\n"+tc.opt+"="+tc.path)
			if code != 1 || !strings.Contains(errs, tc.opt+": ") || !strings.Contains(errs, tc.why) || len(errs) > 1000 {
				t.Errorf("%s=%.40s %q: exit %d, want 1 naming %s and saying %q:\n%.2000s", tc.opt, tc.path, action, code, tc.opt, tc.why, errs)
			}
			if took := time.Since(start); took > 2*time.Second || c.dials != 0 {
				t.Errorf("%s=%.40s: %s, %d dials", tc.opt, tc.path, took, c.dials)
			}
		}
	}
}

// TestNoMonitorToReach: an empty ceph_conf (possible on the command line;
// stdin drops empty values) without mon_host names no monitor.
func TestNoMonitorToReach(t *testing.T) {
	var out, errb bytes.Buffer
	code := New().Main([]string{"-o", "validate-all", "--ceph-conf=", "--hosts=node1=10.0.0.1"}, nil, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "ceph_conf is empty and mon_host is not set") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	errb.Reset()
	if code := New().Main([]string{"-o", "validate-all", "--ceph-conf=", "--mon-host=10.0.9.1", "--hosts=node1=10.0.0.1"}, nil, &out, &errb); code != 0 {
		t.Fatalf("mon_host without a configuration file: exit %d: %s", code, errb.String())
	}
}

// TestKeyIsNeverEchoed: a cephx key where a value belongs is not printed.
func TestKeyIsNeverEchoed(t *testing.T) {
	const key = "AQBr0x1kAAAAABAAhHZ1bJ6Px7s3S3IQpHaZ6w=="
	for _, opt := range []string{"hosts", "plug", "ceph_user", "mon_host", "pools", "expire", "heartbeat", "ceph_conf", "ceph_keyring"} {
		for _, v := range []string{key, "secret=" + key, "node1=" + key} {
			_, out, errs := run(t, newFakeCluster(), "action=validate-all\nplug=node1\n"+opt+"="+v)
			if strings.Contains(out+errs, key) {
				t.Errorf("%s=%s: the key was printed:\n%s", opt, v, errs)
			}
		}
	}
}

// TestUnansweredConnectionSaysSo: when the action's time ends while the
// session is still being made, the error says what was being waited for.
func TestUnansweredConnectionSaysSo(t *testing.T) {
	f := &fencer{deps: deps{hostname: "fencer1", localAddrs: func() ([]netip.Addr, error) { return testSelf, nil },
		dial: func(ctx context.Context, _ ceph.Config) (cluster, error) {
			<-ctx.Done()
			time.Sleep(time.Second) // librados ends a little after its timeout
			return nil, ctx.Err()
		}}}
	var out, errb bytes.Buffer
	start := time.Now()
	code := f.agent().Main(nil, strings.NewReader("ceph_conf="+testConf(t)+"\nhosts="+testHosts+"\naction=status\nplug=node1\npower_timeout=1\n"), &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "connecting to the cluster: no session before the action's deadline") {
		t.Fatalf("status: %d %s", code, errb.String())
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("status took %s", took)
	}
}

func TestExpireTooLarge(t *testing.T) {
	for _, s := range []string{"9999999999", "99999999999999999999", "51y", "99999999999999999999999999999999d"} {
		if _, err := parseExpire(s); err == nil || !strings.Contains(err.Error(), "too large") {
			t.Errorf("%q: %v, want too large", s, err)
		}
	}
	if d, err := parseExpire("0000000000000000060"); err != nil || d != time.Minute {
		t.Errorf("leading zeros: %v %v", d, err)
	}
}
