package rbd

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/agents/rbd/cephapi"
	"github.com/kvmha/kvmha/internal/files/filestest"
	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/krbd/krbdtest"
)

// short makes start's holder wait about a second.
const short = "env=OCF_RESKEY_CRM_meta_timeout=9000"

func TestExclusive(t *testing.T) {
	h := newHarness(t)
	h.k.LoadRBD(kernelFS)
	live := cephapi.Holder{Client: "client.4211", Address: "10.0.0.2:0/3282", Kind: "watcher"}
	liveLock := cephapi.Holder{Client: "client.4211", Address: "10.0.0.2:0/3282", Kind: "locker", Cookie: "auto 1"}
	h.cluster.holders["rbd/vm1"] = []cephapi.Holder{live, liveLock}
	h.expect(h.run("start", short), 1,
		"rbd/vm1 is in use by client.4211 at 10.0.0.2:0/3282 (watcher, locker); refusing to map it")
	if len(h.k.Requests) != 0 || len(h.cluster.broken) != 0 {
		t.Fatal("mapped or broke a live lock")
	}
	// exclusive=false maps anyway
	h.expect(h.run("start", "exclusive=false"), 0)
	h.expect(h.run("stop"), 0)

	// a blocklisted holder: its lock is broken, its watch ignored
	dead := cephapi.Holder{Client: "client.77", Address: "10.0.0.3:0/1", Kind: "watcher", Blocklisted: true}
	deadLock := cephapi.Holder{Client: "client.77", Address: "10.0.0.3:0/1", Kind: "locker", Cookie: "auto 9", Blocklisted: true}
	h.cluster.holders["rbd/vm1"] = []cephapi.Holder{dead, deadLock}
	h.expect(h.run("start"), 0, "broke the lock of client.77 at 10.0.0.3:0/1 on rbd/vm1")
	if !slices.Equal(h.cluster.broken, []string{"client.77 auto 9"}) {
		t.Fatal(h.cluster.broken)
	}
	h.expect(h.run("stop"), 0)

	// a holder that goes away while start waits
	h.cluster.holders["rbd/vm1"] = []cephapi.Holder{live}
	calls := 0
	h.cluster.onHolders = func() {
		calls++
		if calls == 2 {
			h.cluster.holders["rbd/vm1"] = nil
		}
	}
	h.expect(h.run("start", "env=OCF_RESKEY_CRM_meta_timeout=20000"), 0, "waiting up to")
	if calls != 2 {
		t.Fatalf("%d holder lookups", calls)
	}
}

func TestBlocklistUnknown(t *testing.T) {
	h := newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.cluster.holders["rbd/vm1"] = []cephapi.Holder{{Client: "client.1", Address: "10.0.0.2:0/1", Kind: "watcher"}}
	h.cluster.blocklistErr = errors.New("access denied")
	h.expect(h.run("start", short), 1, "in use by client.1")
}

func TestNBDLifecycle(t *testing.T) {
	h := newHarness(t)
	h.expect(h.run("start", "driver=nbd", "secret="+h.keyfile, "mon=10.0.0.1", "map_options=io-timeout=60,try-netlink", "read_only=1"), 0,
		"mapped rbd/vm1 on /dev/nbd0 (rbd-nbd pid 1001)")
	argv := strings.Join(h.nbdRuns[0], " ")
	want := "/usr/bin/rbd-nbd map rbd/vm1 --id kvmha --conf " + h.conf + " --keyfile " + h.keyfile +
		" --mon_host [v2:10.0.0.1:3300,v1:10.0.0.1:6789],[v2:10.0.0.2:3300,v1:10.0.0.2:6789] --read-only --io-timeout 60 --try-netlink"
	if argv != want {
		t.Fatalf("argv %q\nwant %q", argv, want)
	}
	if a := h.opened[0]; a.KeyFile != h.keyfile || a.Keyring != "" {
		t.Fatalf("%+v", a)
	}
	if target, _ := os.Readlink(h.k.Path("dev/rbd/rbd/vm1")); target != "../../nbd0" {
		t.Fatal(target)
	}
	// monitor finds it whatever the driver parameter says
	h.expect(h.run("monitor"), 0)
	h.expect(h.run("monitor", "driver=krbd"), 0)
	h.expect(h.run("start", "driver=nbd"), 0, "already mapped")

	// a dead connection
	h.k.Write("sys/block/nbd0/size", "0\n")
	h.expect(h.run("monitor"), 1, "has size 0")
	h.k.Write("sys/block/nbd0/size", "65536\n")

	// opened by someone: stop refuses, rbd-nbd's own descriptor does not count
	h.k.AddProcess(krbdtest.Process{PID: 50, Comm: "qemu-system-x86"})
	h.k.Open(50, "/dev/nbd0")
	h.k.Open(1001, "/dev/nbd0")
	h.expect(h.run("stop"), 1, "is in use: open in qemu-system-x86 (pid 50)")
	if len(h.signals) != 0 {
		t.Fatal(h.signals)
	}
	h.k.KillProcess(50)
	h.expect(h.run("stop"), 0, "unmapped rbd/vm1 from /dev/nbd0")
	if !slices.Equal(h.signals, []string{"1001 terminated"}) {
		t.Fatal(h.signals)
	}
	if _, err := os.Lstat(h.k.Path("dev/rbd/rbd/vm1")); !os.IsNotExist(err) {
		t.Fatal("link left")
	}
	h.expect(h.run("monitor"), 7)

	// rbd-nbd fails
	h.nbdErr = errors.New("exit status 1")
	h.expect(h.run("start", "driver=nbd"), 1, "rbd-nbd map rbd/vm1 failed (exit status 1): rbd-nbd: failed to open image; something else")
	h.nbdErr = nil

	// rbd-nbd that does not exit on SIGTERM
	h.expect(h.run("start", "driver=nbd"), 0)
	h.sigtermIgnored = true
	h.expect(h.run("stop", "env=OCF_RESKEY_CRM_meta_timeout=1500"), 1, "did not disconnect")
	h.expect(h.run("stop", "force_unmap=true"), 0, "sending SIGKILL")
	if last := h.signals[len(h.signals)-1]; last != "1002 killed" {
		t.Fatal(h.signals)
	}
}

func TestStopInUse(t *testing.T) {
	h := newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.expect(h.run("start"), 0)
	num := krbd.DevNum{Major: krbdtest.RBDMajor, Minor: 0}
	h.k.Mount(num, "/srv/data")
	h.expect(h.run("stop"), 1, "rbd/vm1 on /dev/rbd0 is in use: mounted on /srv/data; release it or set force_unmap=true")
	if len(h.k.Removes) != 0 {
		t.Fatal("unmapped a mounted device")
	}
	h.expect(h.run("stop", "force_unmap=yes"), 0, "force_unmap: unmapping rbd/vm1 from /dev/rbd0 although it is mounted on /srv/data")
	if h.k.Removes[0] != "0 force" {
		t.Fatal(h.k.Removes)
	}

	// held by device-mapper
	h.k.Write("proc/self/mountinfo", "")
	h.expect(h.run("start"), 0)
	h.k.Hold("rbd0", "dm-3")
	h.expect(h.run("stop"), 1, "held by dm-3")
	h.k.Remove("sys/block/rbd0/holders/dm-3")

	// open: the kernel says EBUSY, stop names the process
	h.k.Busy = true
	h.k.AddProcess(krbdtest.Process{PID: 77, Comm: "dd"})
	h.k.Open(77, "/dev/rbd0")
	h.expect(h.run("stop"), 1, "open in dd (pid 77)")
	h.k.KillProcess(77)
	h.expect(h.run("stop"), 1, "is open; release it")
	h.k.Busy = false
	h.expect(h.run("stop"), 0)
}

func TestKeys(t *testing.T) {
	// no secret: the configuration's keyring search, first existing file
	h := newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.cluster.keyrings = []string{h.dir + "/missing.keyring", h.keyring, h.keyfile}
	h.expect(h.run("start", "secret="), 0)
	if a := h.opened[0]; a.Keyring != "" || a.KeyFile != "" {
		t.Fatalf("%+v", a)
	}
	if !strings.Contains(h.k.Requests[0], "secret="+testKey+",") {
		t.Fatal("wrong key")
	}
	h.expect(h.run("stop"), 0)
	h.cluster.keyrings = []string{h.dir + "/missing.keyring"}
	h.expect(h.run("start", "secret="), 5, "none of "+h.dir+"/missing.keyring exists")

	// a bare key file
	h.expect(h.run("start", "secret="+h.keyfile), 0)
	if !strings.Contains(h.k.Requests[1], "secret="+testKey+",") {
		t.Fatal("wrong key")
	}
	h.expect(h.run("stop"), 0)

	// a readable key file is worth a warning
	open := h.file("open.keyring", "[client.kvmha]\nkey = "+testKey+"\n", 0o644)
	h.expect(h.run("start", "secret="+open), 0, "readable by users other than its owner")
	h.expect(h.run("stop"), 0)

	// a keyring without the user
	h.expect(h.run("start", "user=other"), 5, "no [client.other] section")
	h.expect(h.run("start", "secret="+h.dir+"/nope"), 5, "ocf-exit-reason:secret: ", "no such file")
	// what can never hold a key is a configuration error, refused at once (a FIFO is
	// not waited for)
	h.expect(h.run("validate-all", "secret="+h.dir), 6, "ocf-exit-reason:secret: ", "not a regular file")
	fifo := filestest.FIFO(t, filepath.Join(h.dir, "fifo"))
	h.expect(h.run("validate-all", "secret="+fifo), 6, "ocf-exit-reason:secret: ", "not a regular file")
	h.expect(h.run("validate-all", "secret=/dev/zero"), 6, "ocf-exit-reason:secret: ", "not a regular file")
}

func TestValidate(t *testing.T) {
	h := newHarness(t)
	h.expect(h.run("validate-all"), 0)
	badConf := h.file("bad.conf", "[global]\nmon_host = 10.0.0.1\nfoo = caf\xc3\xa9\n", 0o644)
	commentedConf := h.file("commented.conf", "# caf\xc3\xa9\n[global]\nmon_host = 10.0.0.1\n", 0o644)
	h.expect(h.run("validate-all", "cephconf="+commentedConf), 0)
	badKeyring := h.file("bad.keyring", "[client.kvmha]\n\tkey = "+testKey+"\n\tcaps mon = \"caf\xc3\xa9\"\n", 0o600)
	for _, c := range []struct {
		param, want string
		code        int
	}{
		// every reason starts with the parameter to fix
		{"name=a b", "name: the image name \"a b\" contains a blank", 6},
		{"pool=..", "pool: the pool name \"..\" is not allowed", 6},
		{"pool_namespace=a/b", "pool_namespace: the namespace name \"a/b\" contains /", 6},
		{"snap=-", "snap: \"-\" is not a snapshot name", 6},
		{"user=a,b", "user: \"a,b\" is not a cephx id", 6},
		{"user=a b", "user: \"a b\" is not a cephx id", 6},
		{"mon=10.0.0.1\n10.0.0.2", "mon: ", 6},
		{"map_options=secret=x", "map_options: map option secret is not allowed", 6},
		{"map_options=--foo", "map_options: ", 6},
		{"driver=fuse", "invalid configuration: parameter driver: \"fuse\" is not one of", 6},
		{"cephconf=/nonexistent/ceph.conf", "cephconf: the Ceph configuration \"/nonexistent/ceph.conf\" does not exist", 5},
		// what start would trip on: no configuration can be a folder, a device or a FIFO, or
		// hold text librados aborts on
		{"cephconf=" + h.dir, "cephconf: ", 6},
		{"cephconf=/dev/zero", "cephconf: ", 6},
		{"cephconf=" + badConf, "cephconf: ", 6},
		{"secret=" + badKeyring, "secret: ", 6},
	} {
		r := h.run("validate-all", c.param)
		h.expect(r, c.code, "ocf-exit-reason:"+c.want)
	}
	// a key in map_options is refused without being echoed (h.run fails on the key)
	h.expect(h.run("validate-all", "map_options=ro,secret="+testKey), 6, "map option secret is not allowed")
	// driver=nbd without rbd-nbd: validate-all says so
	h.noNBD = true
	h.expect(h.run("validate-all", "driver=nbd"), 5, "needs rbd-nbd")
	h.noNBD = false
	// a probe with a broken configuration file still looks at the kernel
	h.k.LoadRBD(kernelFS)
	h.expect(h.run("start"), 0)
	h.expect(h.run("monitor", "probe", "cephconf=/nonexistent"), 0)
	// invalid names: this node's record says what start mapped, and a probe judges it
	h.expect(h.run("monitor", "probe", "name=a b"), 0, "as this node's record says")
	h.expect(h.run("stop"), 0)
	// without a record nothing can be mapped with invalid names, and a probe says so
	h.expect(h.run("monitor", "probe", "name=a b"), 7)
	// the default configuration may be absent when mon is set
	s := settings{confPath: defaultCephConf, mon: "10.0.0.1"}
	if _, err := os.Stat(defaultCephConf); os.IsNotExist(err) {
		if c, err := s.conf(); err != nil || c != "" {
			t.Fatal(c, err)
		}
	}
}

func TestLinkFailureIsNotFatal(t *testing.T) {
	h := newHarness(t)
	h.k.LoadRBD(kernelFS)
	h.k.Write("dev/rbd", "a file where the folder should be")
	h.expect(h.run("start"), 0, "cannot link")
	h.expect(h.run("monitor"), 0, "cannot link")
	h.expect(h.run("stop"), 0, "cannot remove")
}
