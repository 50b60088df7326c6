package fencerbd

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/fence"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/heartbeattest"
)

// hbLab is a fake cluster plus in-memory heartbeat backends: file:///hb
// (and any other file:// or block:// URI) is a MemoryStore; rados://rbd/hb
// lives in the fake cluster's objects, read through fence_rbd's session.
type hbLab struct {
	c      *fakeCluster
	mu     sync.Mutex
	stores map[string]*heartbeattest.MemoryStore
	views  map[string]*heartbeattest.MemoryView
	self   []netip.Addr
}

func newHBLab() *hbLab {
	return &hbLab{c: newFakeCluster(), stores: map[string]*heartbeattest.MemoryStore{}, views: map[string]*heartbeattest.MemoryView{},
		self: []netip.Addr{netip.MustParseAddr("10.0.0.99"), netip.MustParseAddr("127.0.0.1")}}
}

// view returns the view fence_rbd gets of uri's store (one per lab, so
// faults set on it apply to the next run).
func (l *hbLab) view(uri string) *heartbeattest.MemoryView {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.views[uri] == nil {
		l.stores[uri] = heartbeattest.NewMemoryStore(uri)
		l.views[uri] = l.stores[uri].View()
	}
	return l.views[uri]
}

func (l *hbLab) store(uri string) *heartbeattest.MemoryStore {
	l.view(uri)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stores[uri]
}

// run runs the agent with stdin as pacemaker-fenced would; unlike run it
// adds no hosts option.
func (l *hbLab) run(t *testing.T, stdin string) (code int, stdout, stderr string) {
	t.Helper()
	f := &fencer{deps: deps{hostname: "fencer1", recordWait: 300 * time.Millisecond,
		dial: func(context.Context, ceph.Config) (cluster, error) {
			l.c.mu.Lock()
			l.c.dials++
			l.c.mu.Unlock()
			return l.c, nil
		},
		openLocal:  func(_ context.Context, s heartbeat.Spec) (heartbeat.Backend, error) { return l.view(s.String()), nil },
		localAddrs: func() ([]netip.Addr, error) { return l.self, nil },
	}}
	var out, errb bytes.Buffer
	code = f.agent().Main(nil, strings.NewReader("ceph_conf="+testConf(t)+"\n"+stdin+"\n"), &out, &errb)
	return code, out.String(), errb.String()
}

// frame encodes a running record of node with its Ceph addresses.
func frame(t *testing.T, node string, inc uint64, addrs ...string) []byte {
	t.Helper()
	data, err := heartbeat.EncodeRecord(&heartbeat.Record{Node: node, Incarnation: inc, Seq: 7, TimeMs: time.Now().UnixMilli(),
		IntervalMs: 1000, TimeoutMs: 5000, WatchdogMs: 5000, State: heartbeat.StateRunning,
		Backends: []string{"rados://rbd/hb", "file:///hb"}, BackendsOK: 2, Addrs: addrs})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// putRados stores node's record in the fake cluster's rados://rbd/hb and
// registers the node there, as radosbackend does.
func (l *hbLab) putRados(node string, data []byte) {
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	l.c.rados["rbd/hb/kvmha.record."+node] = data
	k := "rbd/hb/kvmha.hosts"
	l.c.omap[k] = append(l.c.omap[k], node)
}

func TestRecordOnlyTargetIsFencedAndUnfenced(t *testing.T) {
	l := newHBLab()
	l.store("file:///hb").PutRecord("node4", frame(t, "node4", 1, "v2:10.0.4.4:0/3282", "[v2:10.0.44.4:0/1,v1:10.0.44.4:0/1]"))
	opts := "heartbeat=file:///hb\nplug=node4\naction="
	code, out, errs := l.run(t, opts+"off")
	if code != 0 || !strings.Contains(out, "Success: Powered OFF") {
		t.Fatalf("off: %d %q %s", code, out, errs)
	}
	blocklistIs(t, l.c, "10.0.4.4:0/0", "10.0.44.4:0/0")
	if _, ok := l.c.objects["kvmha/fence_rbd/node4"]; !ok {
		t.Fatalf("no record under the node's name: %v", l.c.objects)
	}
	if code, out, _ := l.run(t, opts+"status"); code != fence.ExitOff || out != "Status: OFF\n" {
		t.Fatalf("status: %d %q", code, out)
	}
	// Unfencing runs on the node itself, whose blocklisted address cannot
	// read the heartbeat: what fence_rbd recorded is enough.
	l.view("file:///hb").Fail(errBoom, heartbeattest.OpReadRecord)
	code, out, errs = l.run(t, opts+"on")
	if code != 0 || !strings.Contains(out, "Success: Powered ON") {
		t.Fatalf("on without the heartbeat: %d %q %s", code, out, errs)
	}
	blocklistIs(t, l.c)
	// A node nothing knows about has nothing to unfence.
	if code, out, errs := l.run(t, "heartbeat=file:///hb\nplug=node9\naction=on"); code != 0 || !strings.Contains(out, "Already ON") {
		t.Fatalf("on of an unknown node: %d %q %s", code, out, errs)
	}
}

func TestHostsAndRecordAreUnited(t *testing.T) {
	l := newHBLab()
	l.putRados("node2", frame(t, "node2", 1, "v2:10.0.0.2:0/11", "v2:10.0.2.22:0/12"))
	l.putRados("node3", frame(t, "node3", 1, "10.3.1.1:0/5"))
	opts := "heartbeat=rados://rbd/hb\nhosts=node2=10.0.0.2;node3=10.3.0.0/16\naction=off\nplug="
	if code, _, errs := l.run(t, opts+"node2"); code != 0 {
		t.Fatalf("off node2: %s", errs)
	}
	blocklistIs(t, l.c, "10.0.0.2:0/0", "10.0.2.22:0/0")
	if code, _, errs := l.run(t, opts+"node3"); code != 0 {
		t.Fatalf("off node3: %s", errs)
	}
	// 10.3.1.1 is inside node3's network: no entry of its own.
	blocklistIs(t, l.c, "10.0.0.2:0/0", "10.0.2.22:0/0", "10.3.0.0/16")
	if l.c.dials != 2 {
		t.Fatalf("%d sessions for 2 runs: the record must be read through fence_rbd's own", l.c.dials)
	}
}

func TestNewestRecordWins(t *testing.T) {
	l := newHBLab()
	l.putRados("node4", frame(t, "node4", 1, "10.0.4.1:0/1"))
	l.store("file:///hb").PutRecord("node4", frame(t, "node4", 2, "10.0.4.2:0/1"))
	if code, _, errs := l.run(t, "heartbeat=rados://rbd/hb,file:///hb\nplug=node4\naction=off"); code != 0 {
		t.Fatalf("off: %s", errs)
	}
	blocklistIs(t, l.c, "10.0.4.2:0/0")
}

func TestRecordReadFailure(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(l *hbLab)
		want  string // in the warning or error
	}{
		{"error", func(l *hbLab) { l.view("file:///hb").Fail(errBoom, heartbeattest.OpReadRecord) }, "boom"},
		{"hang", func(l *hbLab) { l.view("file:///hb").Hang(true, heartbeattest.OpReadRecord) }, "no answer within 300ms"},
		{"damaged", func(l *hbLab) {
			data := frame(t, "node2", 1, "10.0.2.22:0/1")
			data[len(data)-2] ^= 0xff
			l.store("file:///hb").PutRecord("node2", data)
		}, "checksum mismatch"},
		{"rados hang", func(l *hbLab) { l.c.hang = true }, "no answer within 300ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newHBLab()
			tc.fault(l)
			backends := "file:///hb"
			if strings.HasPrefix(tc.name, "rados") {
				backends = "rados://rbd/hb"
			}
			// Known to hosts: fenced by its hosts entry, with a warning.
			code, _, errs := l.run(t, "heartbeat="+backends+"\nhosts=node2=10.0.0.2\nplug=node2\naction=off")
			if code != 0 || !strings.Contains(errs, "could not read the heartbeat record of node2, using its hosts entry alone (10.0.0.2)") ||
				!strings.Contains(errs, tc.want) {
				t.Fatalf("off with hosts: %d %s", code, errs)
			}
			blocklistIs(t, l.c, "10.0.0.2:0/0")
			// Known to nobody else: not fenced, one line says why.
			code, _, errs = l.run(t, "heartbeat="+backends+"\nplug=node2\naction=off")
			if code != 1 || !strings.Contains(errs, `node "node2" is not in hosts (hosts is empty), and its heartbeat record could not be read`) ||
				!strings.Contains(errs, tc.want) {
				t.Fatalf("off without hosts: %d %s", code, errs)
			}
			oneLine := false
			for _, line := range strings.Split(errs, "\n") {
				oneLine = oneLine || (strings.Contains(line, "is not in hosts") && strings.Contains(line, tc.want))
			}
			if !oneLine {
				t.Fatalf("the error is not on one line:\n%s", errs)
			}
		})
	}
}

func TestUnknownNode(t *testing.T) {
	l := newHBLab()
	code, _, errs := l.run(t, "heartbeat=file:///hb rados://rbd/hb\nhosts=node1=10.0.0.1\nplug=node7\naction=off")
	if code != 1 || !strings.Contains(errs, `node "node7" is neither in hosts (known: node1) nor registered with a heartbeat record on file:///hb rados://rbd/hb`) {
		t.Fatalf("off of an unknown node: %d %s", code, errs)
	}
	if len(l.c.bl) != 0 {
		t.Fatal("blocklisted something")
	}
	for stdin, msg := range map[string]string{
		"heartbeat=file:///hb\nplug=no de\naction=off":   "neither a node name nor a list of addresses",
		"heartbeat=nfs://x/y\nplug=node1\naction=off":    "heartbeat: backend",
		"heartbeat=file:///a,file:///a\naction=monitor":  "listed twice",
		"heartbeat=rados://bad/pool/x\naction=list":      "want rados://pool",
		"hosts=node1=10.0.0.1\nplug=node4\naction=off":   `node "node4" is not in hosts`,
		"heartbeat=file:///hb\nplug=node1\naction=statu": "unsupported action",
	} {
		if code, _, errs := l.run(t, stdin); code != 1 || !strings.Contains(errs, msg) || strings.Contains(errs, "panic") {
			t.Errorf("%q: %d %s", stdin, code, errs)
		}
	}
}

func TestRecordAddressesThatAreNeverBlocklisted(t *testing.T) {
	l := newHBLab()
	l.c.own = []ceph.EntityAddr{{IP: netip.MustParseAddr("10.0.0.98"), Nonce: 4}}
	bad := []string{"127.0.0.1:0/1", "v2:0.0.0.0:0/2", "224.0.0.1:0/3", "[::1]:0/4", "[ff02::1]:0/5", "255.255.255.255:0/6",
		"10.0.0.99:0/7",      // this host's interface
		"10.0.0.98:0/8",      // this host's session
		"v2:10.0.9.1:3300/0", // a monitor
		"10.0.0.1:0/9",       // hosts gives it to node1
		"junk"}
	l.store("file:///hb").PutRecord("node4", frame(t, "node4", 1, append(bad, "10.0.5.5:0/10")...))
	code, _, errs := l.run(t, "heartbeat=file:///hb\nhosts=node1=10.0.0.1\nplug=node4\naction=off")
	if code != 0 {
		t.Fatalf("off: %s", errs)
	}
	blocklistIs(t, l.c, "10.0.5.5:0/0")
	for _, why := range []string{"127.0.0.1 (loopback address)", "0.0.0.0 (unspecified address)", "224.0.0.1 (multicast address)",
		"::1 (loopback address)", "ff02::1 (multicast address)", "255.255.255.255 (broadcast address)",
		"10.0.0.99 (an address of this host", "10.0.0.98 (an address of this host", "10.0.9.1 (a monitor's address)",
		"10.0.0.1 (hosts gives it to node1)", `"junk" (not an entity address)`} {
		if !strings.Contains(errs, why) {
			t.Errorf("no warning %q in:\n%s", why, errs)
		}
	}
	// Nothing usable left and no hosts entry: not fenced.
	l.store("file:///hb").PutRecord("node5", frame(t, "node5", 1, bad...))
	code, _, errs = l.run(t, "heartbeat=file:///hb\nhosts=node1=10.0.0.1\nplug=node5\naction=off")
	if code != 1 || !strings.Contains(errs, "its heartbeat record holds no address fence_rbd may blocklist") {
		t.Fatalf("off of a node with unsafe addresses only: %d %s", code, errs)
	}
	blocklistIs(t, l.c, "10.0.5.5:0/0")
}

func TestListWithHeartbeat(t *testing.T) {
	l := newHBLab()
	l.putRados("node4", frame(t, "node4", 1, "10.0.4.4:0/1"))
	l.putRados("node2", frame(t, "node2", 1, "10.0.0.2:0/1"))
	l.store("file:///hb").PutRecord("node5", frame(t, "node5", 1, "10.0.5.5:0/1"))
	opts := "heartbeat=rados://rbd/hb file:///hb\nhosts=" + testHosts + "\naction="
	if code, out, errs := l.run(t, opts+"list"); code != 0 || out != "node1,\nnode2,\nnode3,\nnode4,\nnode5,\n" {
		t.Fatalf("list: %d %q %s", code, out, errs)
	}
	l.c.bl = entries(t, "10.0.4.4:0/0", "fd00::3")
	if code, out, errs := l.run(t, opts+"list-status"); code != 0 || out != "node1,,on\nnode2,,on\nnode3,,off\nnode4,,off\nnode5,,on\n" {
		t.Fatalf("list-status: %d %q %s", code, out, errs)
	}
	// A backend that cannot be listed costs a warning, not the list.
	l.view("file:///hb").Fail(errBoom, heartbeattest.OpHosts)
	if code, out, errs := l.run(t, opts+"list"); code != 0 || out != "node1,\nnode2,\nnode3,\nnode4,\n" || !strings.Contains(errs, "boom") {
		t.Fatalf("list with a failing backend: %d %q %s", code, out, errs)
	}
	if code, _, errs := l.run(t, "heartbeat=file:///hb\naction=list"); code != 1 || !strings.Contains(errs, "listing the heartbeat backends: file:///hb: boom") {
		t.Fatalf("list with nothing to list: %d %s", code, errs)
	}
	if code, _, errs := l.run(t, "heartbeat=file:///hb\naction=monitor"); code != 0 || !strings.Contains(errs, "heartbeat backend: file:///hb: boom") {
		t.Fatalf("monitor: %d %s", code, errs)
	}
}

func TestMetadataHasHeartbeat(t *testing.T) {
	var out bytes.Buffer
	if New().Main([]string{"-o", "metadata"}, nil, &out, &out) != 0 {
		t.Fatal(out.String())
	}
	if !strings.Contains(out.String(), `<parameter name="heartbeat"`) || !strings.Contains(out.String(), "allow r pool=POOL namespace=NAMESPACE") {
		t.Fatalf("meta-data: %s", out.String())
	}
}

func TestRecordWaitWithinDeadline(t *testing.T) {
	f := &fencer{}
	if w := f.recordWaitWithin(context.Background()); w != maxRecordWait {
		t.Fatalf("without a deadline: %s", w)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if w := f.recordWaitWithin(ctx); w > 500*time.Millisecond || w <= 0 {
		t.Fatalf("with 2 s left: %s", w)
	}
}

func TestOrphanedOnKeepsTheFence(t *testing.T) {
	c := newFakeCluster()
	if code, _, errs := run(t, c, "action=off\nplug=node2"); code != 0 {
		t.Fatalf("off: %s", errs)
	}
	// The fencer that ran "on" exited meanwhile: fence_rbd was reparented.
	f := &fencer{deps: deps{hostname: "node2", parent: 4242, ppid: func() int { return 1 },
		dial: func(context.Context, ceph.Config) (cluster, error) { return c, nil }}}
	var out, errb bytes.Buffer
	code := f.agent().Main(nil, strings.NewReader("action=on\nplug=node2\nhosts="+testHosts+"\nceph_conf="+testConf(t)+"\n"), &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "the fencer that asked to unfence node2 (pid 4242) is gone") {
		t.Fatalf("orphaned on: %d %s", code, errb.String())
	}
	blocklistIs(t, c, "10.0.0.2:0/0", "10.0.1.2:0/0")
	if _, ok := c.objects["kvmha/fence_rbd/node2"]; !ok {
		t.Fatal("the record was removed")
	}
}
