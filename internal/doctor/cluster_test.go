package doctor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/heartbeat"
)

// heartbeatHost configures a heartbeat daemon named node on a file://
// backend and, when record is set, leaves its record there (as a running
// daemon would). It returns the state directory.
func heartbeatHost(t *testing.T, node string, record bool) string {
	t.Helper()
	dir := t.TempDir()
	shared := filepath.Join(dir, "shared")
	os.Mkdir(shared, 0o755)
	cfg := &heartbeat.Config{Node: node, Backends: []string{"file://" + shared},
		Interval: heartbeat.Duration(time.Second), Timeout: heartbeat.Duration(5 * time.Second),
		WatchdogDevice: "none", SelfFence: "exec:/bin/true", StateDir: filepath.Join(dir, "run")}
	os.Mkdir(cfg.StateDir, 0o755)
	if err := cfg.Write(); err != nil {
		t.Fatal(err)
	}
	if !record {
		return cfg.StateDir
	}
	ctx := context.Background()
	spec, _ := heartbeat.ParseBackend(cfg.Backends[0])
	b, _ := heartbeat.OpenLocal(ctx, spec)
	defer b.Close()
	frame, err := heartbeat.EncodeRecord(&heartbeat.Record{Node: node, Incarnation: 1, Seq: 7, TimeMs: time.Now().UnixMilli(),
		IntervalMs: 1000, TimeoutMs: 5000, State: heartbeat.StateRunning, Backends: cfg.Backends, BackendsOK: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Register(ctx, node); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteRecord(ctx, node, frame); err != nil {
		t.Fatal(err)
	}
	return cfg.StateDir
}

func nameDoctor(dir, pacemaker string, err error) *Doctor {
	d := testDoctor("", nil, nil, nil)
	d.HeartbeatStateDir = dir
	d.NodeName = func(context.Context) (string, error) { return pacemaker, err }
	return d
}

func TestNodeName(t *testing.T) {
	dir := heartbeatHost(t, "node1", true)
	expect(t, runNamed(t, nameDoctor(dir, "node1", nil), "node-name")["node-name"], Pass,
		"Pacemaker's node1 is the heartbeat daemon's name; its record is on file://", "")

	expect(t, runNamed(t, nameDoctor(heartbeatHost(t, "vm", true), "node1", nil), "node-name")["node-name"], Fail,
		"Pacemaker calls this node node1, but the heartbeat daemon", "restart the HostHeartbeat resource")

	expect(t, runNamed(t, nameDoctor(heartbeatHost(t, "node1", false), "node1", nil), "node-name")["node-name"], Fail,
		"no record of node1 on file://", "check its log")

	expect(t, runNamed(t, nameDoctor(t.TempDir(), "node1", nil), "node-name")["node-name"], Skip,
		"no heartbeat daemon configured here", "")
	expect(t, runNamed(t, nameDoctor(dir, "", ErrNoPacemaker), "node-name")["node-name"], Skip, "not a cluster node", "")
	expect(t, runNamed(t, nameDoctor(dir, "", errors.New("crm_node -n: exit status 102")), "node-name")["node-name"], Warn,
		"Pacemaker does not say this node's name", "pcs cluster start")

	// The state of a running daemon that writes under another name.
	st := &heartbeat.State{PID: 42, Node: "vm"}
	if err := heartbeat.WriteState(dir, st); err != nil {
		t.Fatal(err)
	}
	expect(t, runNamed(t, nameDoctor(dir, "node1", nil), "node-name")["node-name"], Fail,
		"the running heartbeat daemon (pid 42) writes as vm", "hostnamectl")
}
