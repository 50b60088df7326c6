package fencekvmha

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/heartbeattest"
)

// lab is two in-memory backends and the views the agent gets of them.
type lab struct {
	stores map[string]*heartbeattest.MemoryStore
	views  map[string]*heartbeattest.MemoryView
}

const backends = "file:///a file:///b"

func newLab() *lab {
	l := &lab{stores: map[string]*heartbeattest.MemoryStore{}, views: map[string]*heartbeattest.MemoryView{}}
	for _, u := range strings.Fields(backends) {
		l.stores[u] = heartbeattest.NewMemoryStore(u)
		l.views[u] = l.stores[u].View()
	}
	return l
}

func (l *lab) open(_ context.Context, s heartbeat.Spec) (heartbeat.Backend, error) {
	v, ok := l.views[s.String()]
	if !ok {
		return nil, errors.New("no such backend")
	}
	return v, nil
}

// deps opens the lab's backends whatever the Ceph settings.
func (l *lab) deps() deps {
	return deps{opener: func(ceph.Config) heartbeat.Opener { return l.open }}
}

func (l *lab) put(t *testing.T, r *heartbeat.Record) {
	t.Helper()
	data, err := heartbeat.EncodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range l.stores {
		s.PutRecord(r.Node, data)
	}
}

func record(node string, seq uint64) *heartbeat.Record {
	return &heartbeat.Record{Node: node, Boot: "b", Incarnation: 1, Seq: seq, IntervalMs: 100, TimeoutMs: 300,
		WatchdogMs: 300, State: heartbeat.StateRunning, Backends: strings.Fields(backends)}
}

func (l *lab) run(t *testing.T, stdin string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	in := stdin + "\nbackends=" + backends + "\nmargin=0.2\nstate_dir=" + t.TempDir() + "\n"
	code := newAgent(l.deps()).Main(nil, strings.NewReader(in), &out, &errb)
	return code, out.String(), errb.String()
}

func TestDeclaration(t *testing.T) {
	if err := New().Check(); err != nil {
		t.Fatal(err)
	}
}

func TestOffProvesAStaleHost(t *testing.T) {
	l := newLab()
	l.put(t, record("node2", 5))
	code, out, errs := l.run(t, "action=status\nport=node2")
	if code != 0 || !strings.Contains(out, "Status: ON") {
		t.Fatalf("status: %d %s %s", code, out, errs)
	}
	start := time.Now()
	code, out, errs = l.run(t, "action=off\nport=node2")
	if code != 0 || !strings.Contains(out, "Success: Powered OFF") {
		t.Fatalf("off: %d %s %s", code, out, errs)
	}
	if took := time.Since(start); took < 800*time.Millisecond {
		t.Fatalf("fenced after %s, before timeout+watchdog+margin", took)
	}
	m, err := heartbeat.DecodeMessage(l.stores["file:///b"].Message("node2"))
	if err != nil || m.Cmd != heartbeat.CmdOff || m.To != "node2" {
		t.Fatalf("message %+v %v", m, err)
	}
}

func TestRebootAcknowledged(t *testing.T) {
	l := newLab()
	l.put(t, record("node2", 5))
	// Play node2's daemon: acknowledge the first message.
	go func() {
		for {
			if data := l.stores["file:///a"].Message("node2"); data != nil {
				m, _ := heartbeat.DecodeMessage(data)
				r := record("node2", 6)
				r.State, r.Ack = heartbeat.StateFencing, &heartbeat.Ack{ID: m.ID, Cmd: m.Cmd, From: m.From}
				data, _ := heartbeat.EncodeRecord(r)
				l.stores["file:///a"].PutRecord("node2", data)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	start := time.Now()
	code, out, errs := l.run(t, "action=reboot\nport=node2\nverbose=1")
	if code != 0 || !strings.Contains(out, "Success: Rebooted") || !strings.Contains(errs, "acknowledged") {
		t.Fatalf("reboot: %d %s %s", code, out, errs)
	}
	if time.Since(start) > 700*time.Millisecond {
		t.Fatal("the ack was not the fast path")
	}
}

func TestFailures(t *testing.T) {
	l := newLab()
	if code, _, errs := l.run(t, "action=off\nport=node9"); code != 1 || !strings.Contains(errs, "no record") {
		t.Fatalf("never seen: %d %s", code, errs)
	}
	if code, _, _ := l.run(t, "action=status\nport=node9"); code != 1 {
		t.Fatalf("status of a stranger: %d", code)
	}
	if code, _, _ := l.run(t, "action=off\nport=bad/name"); code != 1 {
		t.Fatal("bad plug")
	}
	var out, errb bytes.Buffer
	if code := newAgent(l.deps()).Main(nil, strings.NewReader("action=monitor\nbackends=nfs://x"), &out, &errb); code != 1 {
		t.Fatal("bad backends")
	}
	if code := newAgent(l.deps()).Main(nil, strings.NewReader("action=monitor\nbackends=file:///c"), &out, &errb); code != 1 {
		t.Fatal("an unopenable backend")
	}
	if code, _, _ := l.run(t, "action=monitor\nceph_keyring=/nonexistent/keyring"); code != 1 {
		t.Fatal("missing keyring")
	}
}

func TestListAndMonitor(t *testing.T) {
	l := newLab()
	l.put(t, record("node1", 1))
	l.put(t, record("node2", 1))
	acked := record("node3", 2)
	acked.State, acked.Ack = heartbeat.StateFencing, &heartbeat.Ack{ID: "0123456789abcdef", Cmd: "off"}
	l.put(t, acked)
	code, out, _ := l.run(t, "action=list")
	if code != 0 || strings.Join(strings.Fields(out), " ") != "node1, node2, node3," {
		t.Fatalf("list: %d %q", code, out)
	}
	code, out, _ = l.run(t, "action=list-status")
	if code != 0 || !strings.Contains(out, "node3,,off") || !strings.Contains(out, "node1,,on") {
		t.Fatalf("list-status: %d %q", code, out)
	}
	if code, _, _ := l.run(t, "action=monitor"); code != 0 {
		t.Fatal("monitor")
	}
	l.views["file:///a"].Fail(errors.New("down"), heartbeattest.OpHosts)
	if code, _, errs := l.run(t, "action=monitor"); code != 0 || !strings.Contains(errs, "down") {
		t.Fatalf("monitor with 1 of 2 (a quorum): %d %s", code, errs)
	}
	l.views["file:///b"].Fail(errors.New("down"), heartbeattest.OpHosts)
	if code, _, _ := l.run(t, "action=monitor"); code != 1 {
		t.Fatal("monitor with none")
	}
	if code, _, _ := l.run(t, "action=list"); code != 1 {
		t.Fatal("list with none")
	}
}

// TestOnIsANoOp: "on" succeeds at once, whatever the target's record says, without reading
// the backends (Pacemaker runs it when it unfences through a level holding fence_kvmha).
func TestOnIsANoOp(t *testing.T) {
	l := newLab()
	for _, v := range l.views {
		v.Fail(errors.New("boom"))
	}
	if code, out, errs := l.run(t, "action=on\nplug=node9"); code != 0 || !strings.Contains(out, "Already ON") {
		t.Fatalf("on: %d %q %s", code, out, errs)
	}
}
