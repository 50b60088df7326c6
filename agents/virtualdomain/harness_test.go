package virtualdomain

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kvmha/kvmha/agents/virtualdomain/cephapi"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/guestdisks"
	"github.com/kvmha/kvmha/internal/heartbeat/heartbeattest"
	"github.com/kvmha/kvmha/internal/ocf"
	"github.com/kvmha/kvmha/internal/ocf/ocftest"
)

const (
	testURI  = "qemu:///system?socket=/nonexistent/libvirt-sock"
	testUUID = "6f1c2a3e-0000-4000-8000-0000000000a1"
)

// harness runs the agent in-process against fakes.
type harness struct {
	t      *testing.T
	hv     *fakeHV
	qemu   *fakeQemu
	ceph   *fakeCeph
	cib    *fakeCIB
	dir    string
	config string
	env    ocftest.Env // the resource vm1

	mu      sync.Mutex
	runs    [][]string
	runFunc func(argv []string) (string, int, error)
	// users: what uses each image (pool/image) on this node.
	users map[string][]string
	// hb are the heartbeat backends by URI (file://, block:// and, through
	// the fake Ceph session, rados://); hbFail makes a backend's opening fail.
	hb      map[string]*heartbeattest.MemoryStore
	hbFail  map[string]error
	hbState *heartbeat.State
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{t: t, hv: newFakeHV(), qemu: &fakeQemu{procs: map[string][]int{}, dieOn: "term"},
		ceph: &fakeCeph{images: map[string]cephapi.Status{}}, cib: &fakeCIB{attrs: map[string]string{}}, dir: dir, config: filepath.Join(dir, "vm1.xml"),
		hb: map[string]*heartbeattest.MemoryStore{}, hbFail: map[string]error{}}
	h.ceph.hb = h.hb
	h.writeConfig(domainXML("vm1", testUUID, ""))
	h.env = ocftest.NewEnv(t, "vm1", "").SetParam("config", h.config).SetParam("hypervisor", testURI).
		SetTimeout(20 * time.Second)
	return h
}

// rscTmp is the harness's HA_RSCTMP, where records are kept.
func (h *harness) rscTmp() string { return h.env.RscTmp() }

func (h *harness) writeConfig(xml string) {
	h.t.Helper()
	if err := os.WriteFile(h.config, []byte(xml), 0o640); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) set(kv ...string) *harness {
	for i := 0; i+1 < len(kv); i += 2 {
		h.env[kv[i]] = kv[i+1]
	}
	return h
}

func (h *harness) deps() deps {
	return deps{
		dialHypervisor: h.hv.dial,
		openCeph:       h.ceph.open,
		qemu:           h.qemu,
		localAddrs: func() ([]net.IP, error) {
			return []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")}, nil
		},
		run: func(ctx context.Context, argv []string) (string, int, error) {
			h.mu.Lock()
			h.runs = append(h.runs, argv)
			f := h.runFunc
			h.mu.Unlock()
			if f != nil {
				return f(argv)
			}
			return "", 0, nil
		},
		utilization: h.cib,
		imageUsers: func(img cephapi.Image) ([]string, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.users[img.String()], nil
		},
		poll:            10 * time.Millisecond,
		defaultCephConf: filepath.Join(h.dir, "no-ceph.conf"),
		defaultURI:      func() string { return "qemu:///system" },
		heartbeatLocal: func(_ context.Context, spec heartbeat.Spec) (heartbeat.Backend, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			if err := h.hbFail[spec.String()]; err != nil {
				return nil, err
			}
			if st := h.hb[spec.String()]; st != nil {
				return st.View(), nil
			}
			return nil, fmt.Errorf("no heartbeat backend %s in this test", spec)
		},
		heartbeatState:  func() *heartbeat.State { return h.hbState },
		heartbeatMargin: 20 * time.Millisecond,
		disks:           guestdisks.Resolver{Sys: filepath.Join(h.dir, "sys"), Dev: filepath.Join(h.dir, "dev"), Timeout: time.Second},
	}
}

func (h *harness) commands() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]string(nil), h.runs...)
}

// do runs an action with the harness's environment.
func (h *harness) do(action string) ocftest.Result {
	h.t.Helper()
	return ocftest.Run(newAgent(h.deps()), action, h.env)
}

// expect runs an action and checks its exit code.
func (h *harness) expect(action string, want ocf.ExitCode) ocftest.Result {
	h.t.Helper()
	r := h.do(action)
	if r.Code != want {
		h.t.Fatalf("%s: exit %d (%s), want %d (%s)\nstderr:\n%s\ncalls: %v", action, r.Code, r.Code, want, want, r.Stderr, h.hv.callList())
	}
	return r
}

// domainXML writes a test domain; extra goes into <devices>.
func domainXML(name, uuid, extra string) string {
	u := ""
	if uuid != "" {
		u = "<uuid>" + uuid + "</uuid>"
	}
	return fmt.Sprintf(`<domain type='kvm'><name>%s</name>%s<memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type>hvm</type></os><devices><emulator>/usr/bin/qemu-system-x86_64</emulator>%s</devices></domain>`, name, u, extra)
}

// rbdDiskXML is a network disk on pool/image with a ceph secret.
func rbdDiskXML(target, image, secretUUID string) string {
	return fmt.Sprintf(`<disk type='network' device='disk'><driver name='qemu' type='raw'/>
<source protocol='rbd' name='%s'><host name='10.0.0.9' port='6789'/><host name='mon2.example' port='3300'/></source>
<auth username='kvmha'><secret type='ceph' uuid='%s'/></auth><target dev='%s' bus='virtio'/></disk>`, image, secretUUID, target)
}

// within fails when an action took longer than its budget allows.
func within(t *testing.T, r ocftest.Result, budget time.Duration) {
	t.Helper()
	if r.Took > budget {
		t.Fatalf("action took %v, more than %v", r.Took, budget)
	}
}
