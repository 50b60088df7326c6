package fencekvmha

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/files/filestest"
)

// TestOptionsFailClearlyAndAtOnce: each bad option fails every action with
// exit 1 and one line naming it; files librados would read are read first,
// bounded, so a FIFO, a device or a directory fails at once.
func TestOptionsFailClearlyAndAtOnce(t *testing.T) {
	hostile := filestest.NewHostile(t)
	dir, fifo := hostile.Dir, hostile.FIFO
	for _, tc := range []struct{ opts, want string }{
		{"ceph_conf=" + fifo, "ceph_conf: " + fifo + ": not a regular file (a FIFO)"},
		{"ceph_conf=/dev/zero", "ceph_conf: /dev/zero: not a regular file (a character device)"},
		{"ceph_conf=" + dir, "ceph_conf: " + dir + ": not a regular file (a directory)"},
		{"backends=rados://rbd/hb\nceph_conf=" + filepath.Join(dir, "missing"), "ceph_conf: "},
		{"ceph_keyring=" + fifo, "ceph_keyring: " + fifo + ": not a regular file (a FIFO)"},
		{"ceph_keyring=/dev/zero", "ceph_keyring: /dev/zero: not a regular file"},
		{"ceph_user=a b", `ceph_user "a b" is not a cephx id`},
		{"state_dir=a b/c", `state_dir "a b/c" is not an absolute path`},
		{"backends=nfs://x", "backends: backend"},
		{"plug=" + strings.Repeat("x", 100<<10), `plug "xxxxxxxx`},
		{"plug=a\xffb", `plug "a\\xffb" is not a node name`},
	} {
		for _, action := range []string{"validate-all", "off", "monitor", "list"} {
			var out, errb bytes.Buffer
			in := "action=" + action + "\nplug=node1\nbackends=file:///a\n" + tc.opts + "\n"
			start := time.Now()
			code := newAgent(newLab().deps()).Main(nil, strings.NewReader(in), &out, &errb)
			if code != 1 || !strings.Contains(errb.String(), tc.want) || len(errb.String()) > 600 {
				t.Errorf("%.60q %s: exit %d, want 1 saying %q:\n%.1000s", tc.opts, action, code, tc.want, errb.String())
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("%.60q %s took %s", tc.opts, action, took)
			}
		}
	}
}

// TestCephFilesOnlyWhenUsed: the default ceph_conf is read only for
// rados:// backends; a host without Ceph fences through file:// ones.
func TestCephFilesOnlyWhenUsed(t *testing.T) {
	if _, err := os.Stat("/etc/ceph/ceph.conf"); err == nil {
		t.Skip("this host has /etc/ceph/ceph.conf")
	}
	l := newLab()
	if code, _, errs := l.run(t, "action=validate-all"); code != 0 {
		t.Fatalf("file:// backends without Ceph: %d %s", code, errs)
	}
	var out, errb bytes.Buffer
	code := newAgent(l.deps()).Main(nil, strings.NewReader("action=validate-all\nbackends=rados://rbd/hb\n"), &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "ceph_conf: /etc/ceph/ceph.conf: no such file or directory") {
		t.Fatalf("rados:// without a configuration file: %d %s", code, errb.String())
	}
}
