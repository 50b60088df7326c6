package rbd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kvmha/kvmha/agents/rbd/cephapi"
	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/krbd/krbdtest"
	"github.com/kvmha/kvmha/internal/ocf"
	"github.com/kvmha/kvmha/internal/ocf/ocftest"
)

const (
	testKey   = "AQBzKmVmAAAAABAAvN1G5yOJcN5bC8V5iX6Wkw=="
	kernelFS  = krbd.Features(0x1bf) // Debian 12's 6.1: no journaling
	defaultFS = krbd.Features(0x3d)
)

// harness is a node: a fake kernel tree, a fake Ceph cluster behind the
// helper's interface, and the programs the agent may run.
type harness struct {
	t       *testing.T
	k       *krbdtest.Kernel
	cluster *fakeCluster
	dir     string
	conf    string
	keyring string
	keyfile string
	env     ocftest.Env // the resource r1

	mu        sync.Mutex
	opened    []cephapi.Access
	openErr   error
	modprobes []string
	nbdRuns   [][]string
	nbdErr    error
	signals   []string
	noNBD     bool // rbd-nbd is not installed
	noRBDMod  bool // modprobe rbd fails
	readErr   error
	reads     int
	nextPID   int
	// sigtermIgnored: the fake rbd-nbd does not exit on SIGTERM.
	sigtermIgnored bool
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, k: krbdtest.New(t), dir: t.TempDir(), nextPID: 1000}
	h.cluster = newFakeCluster()
	h.conf = h.file("ceph.conf", "[global]\nmon_host = [v2:10.0.0.1:3300,v1:10.0.0.1:6789]\n", 0o644)
	h.keyring = h.file("client.kvmha.keyring", "[client.kvmha]\n\tkey = "+testKey+"\n", 0o600)
	h.keyfile = h.file("kvmha.secret", testKey+"\n", 0o600)
	h.k.LoadNBD(4)
	h.env = ocftest.NewEnv(t, "r1", "rbd").SetParam("name", "vm1").SetParam("cephconf", h.conf).
		SetParam("user", "kvmha").SetParam("secret", h.keyring)
	return h
}

// rscTmp is the node's HA_RSCTMP, where the agent keeps its records.
func (h *harness) rscTmp() string { return h.env.RscTmp() }

// recordPath is the record of the harness's resource, r1.
func (h *harness) recordPath() string { return filepath.Join(h.rscTmp(), "kvmha-rbd-r1.record") }

func (h *harness) file(name, content string, mode os.FileMode) string {
	p := filepath.Join(h.dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) deps() deps {
	return deps{
		tree: h.k.Tree,
		openCeph: func(ctx context.Context, a cephapi.Access) (cephapi.Session, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.opened = append(h.opened, a)
			if h.openErr != nil {
				return nil, h.openErr
			}
			return &fakeSession{c: h.cluster, a: a}, nil
		},
		modprobe: func(_ context.Context, m string) error {
			h.modprobes = append(h.modprobes, m)
			if h.noRBDMod {
				return fmt.Errorf("modprobe: FATAL: Module %s not found", m)
			}
			h.k.LoadRBD(kernelFS)
			return nil
		},
		lookPath: func(name string) (string, error) {
			if h.noNBD {
				return "", fmt.Errorf("%s not found", name)
			}
			return "/usr/bin/" + name, nil
		},
		runNBD:    h.runNBD,
		checkNode: krbdtest.CheckNode,
		readFirstBlock: func(_ context.Context, path string, size uint64) error {
			h.reads++
			return h.readErr
		},
		signal:        h.signal,
		poll:          time.Millisecond,
		holderRecheck: 20 * time.Millisecond,
		nbdKillAfter:  10 * time.Millisecond,
	}
}

// runNBD acts as rbd-nbd map: a daemon process serving the first free nbd
// device.
func (h *harness) runNBD(_ context.Context, argv []string) (string, error) {
	h.nbdRuns = append(h.nbdRuns, argv)
	if h.nbdErr != nil {
		return "rbd-nbd: failed to open image\nsomething else\n", h.nbdErr
	}
	idx := h.k.FreeNBD()
	h.nextPID++
	pid := h.nextPID
	h.k.AddProcess(krbdtest.Process{PID: pid, Comm: "rbd-nbd", Args: argv})
	h.k.ConnectNBD(idx, pid, 32<<20)
	return "", nil
}

func (h *harness) signal(pid int, sig syscall.Signal) error {
	h.signals = append(h.signals, fmt.Sprintf("%d %v", pid, sig))
	if sig == syscall.SIGTERM && h.sigtermIgnored {
		return nil
	}
	devs, _ := h.k.Tree.NBDDevices()
	for _, d := range devs {
		if d.PID == pid {
			h.k.DisconnectNBD(d.Index)
		}
	}
	h.k.KillProcess(pid)
	return nil
}

// run runs an action with the harness's parameters (image rbd/vm1, the keyring as
// secret) changed by params (see ocftest.Env.For), and fails the test if the key shows
// in the output.
func (h *harness) run(action string, params ...string) ocftest.Result {
	h.t.Helper()
	r := ocftest.Run(newAgent(h.deps()), action, h.env.For(action, params...))
	if strings.Contains(r.Stderr+r.Stdout, testKey) {
		h.t.Fatalf("the key is in the output:\n%s", r.Stderr)
	}
	return r
}

func (h *harness) expect(r ocftest.Result, code int, parts ...string) {
	h.t.Helper()
	r.Expect(h.t, ocf.ExitCode(code), parts...)
}

// fakeCluster is the Ceph side: images, holders, the blocklist.
type fakeCluster struct {
	mu       sync.Mutex
	images   map[string]cephapi.ImageInfo // by pool/ns/name
	snaps    map[string]bool              // pool/ns/name@snap
	holders  map[string][]cephapi.Holder
	broken   []string
	imageErr error
	keyrings []string
	monitors []cephapi.Monitor
	// onHolders runs (locked) before each holder lookup.
	onHolders    func()
	blocklistErr error
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{
		images:   map[string]cephapi.ImageInfo{"rbd/vm1": {ID: "1", Features: uint64(defaultFS), Size: 32 << 20}},
		snaps:    map[string]bool{},
		holders:  map[string][]cephapi.Holder{},
		monitors: []cephapi.Monitor{{Msgr1: mustAP("10.0.0.1:6789"), Msgr2: mustAP("10.0.0.1:3300")}},
	}
}

func imageKey(img cephapi.Image) string {
	if img.Namespace != "" {
		return img.Pool + "/" + img.Namespace + "/" + img.Name
	}
	return img.Pool + "/" + img.Name
}

type fakeSession struct {
	c *fakeCluster
	a cephapi.Access
}

func (s *fakeSession) Image(_ context.Context, img cephapi.Image) (cephapi.ImageInfo, error) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.c.imageErr != nil {
		return cephapi.ImageInfo{}, s.c.imageErr
	}
	info, ok := s.c.images[imageKey(img)]
	if !ok {
		return cephapi.ImageInfo{}, fmt.Errorf("%w: open image: (2) No such file or directory", cephapi.ErrImageNotFound)
	}
	if img.Snap != "" && !s.c.snaps[imageKey(img)+"@"+img.Snap] {
		return cephapi.ImageInfo{}, fmt.Errorf("%w", cephapi.ErrSnapshotNotFound)
	}
	return info, nil
}

func (s *fakeSession) Holders(_ context.Context, img cephapi.Image) (cephapi.Holders, error) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.c.onHolders != nil {
		s.c.onHolders()
	}
	hs := cephapi.Holders{List: append([]cephapi.Holder(nil), s.c.holders[imageKey(img)]...)}
	if len(hs.List) > 0 {
		hs.BlocklistUnknown = s.c.blocklistErr
	}
	return hs, nil
}

func (s *fakeSession) BreakLock(_ context.Context, img cephapi.Image, h cephapi.Holder) error {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.c.broken = append(s.c.broken, h.Client+" "+h.Cookie)
	var keep []cephapi.Holder
	for _, x := range s.c.holders[imageKey(img)] {
		if x != h {
			keep = append(keep, x)
		}
	}
	s.c.holders[imageKey(img)] = keep
	return nil
}

func (s *fakeSession) Monitors() ([]cephapi.Monitor, error) { return s.c.monitors, nil }
func (s *fakeSession) MonHost() (string, error) {
	return "[v2:10.0.0.1:3300,v1:10.0.0.1:6789],[v2:10.0.0.2:3300,v1:10.0.0.2:6789]", nil
}
func (s *fakeSession) KeyringPaths() ([]string, error) { return s.c.keyrings, nil }
func (s *fakeSession) Close()                          {}
