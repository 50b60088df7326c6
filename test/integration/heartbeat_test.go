//go:build lab

package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/radosbackend"
	"github.com/kvmha/kvmha/internal/libvirt"
)

// Lab tests of ocf:kvmha:HostHeartbeat, its daemon (kvmha heartbeat run) and fence_kvmha.

// heartbeatEnv reads the lab's env file and needs only what these tests use.
func heartbeatEnv(t *testing.T, keys ...string) labEnv {
	t.Helper()
	return labEnvWith(t, keys...)
}

// hbHost is one heartbeat daemon run from the kvmha binary on this host.
type hbHost struct {
	cfg  *heartbeat.Config
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the daemon exited
}

func startHeartbeat(t *testing.T, kvmha string, cfg *heartbeat.Config) *hbHost {
	t.Helper()
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Write(); err != nil {
		t.Fatal(err)
	}
	h := &hbHost{cfg: cfg, log: cfg.LogPath()}
	logf, err := os.Create(h.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	h.cmd = exec.Command(kvmha, "heartbeat", "run", "--config", cfg.ConfigPath(), "--syslog=false")
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h.done = make(chan struct{})
	go func() { h.cmd.Wait(); close(h.done) }()
	t.Cleanup(func() {
		h.cmd.Process.Kill()
		<-h.done
	})
	waitFor(t, 30*time.Second, cfg.Node+" healthy", func() bool {
		st, err := heartbeat.ReadState(cfg.StateDir)
		return err == nil && st.Healthy && st.WatchdogArmed
	})
	return h
}

func (h *hbHost) logText() string {
	b, _ := os.ReadFile(h.log)
	return string(b)
}

// TestHeartbeatDaemonAndFenceOnRADOSAndFiles: the daemon writes to a RADOS namespace of the
// lab's Ceph and a directory; fence_kvmha lists, reports and fences hosts through them: an
// acknowledged reboot of a live host (its exec self-fence runs), a crashed host proven dead by
// staleness only after timeout + watchdog + margin, and a cleanly stopped host that it refuses.
func TestHeartbeatDaemonAndFenceOnRADOSAndFiles(t *testing.T) {
	env := heartbeatEnv(t, "CEPH_CONF", "CEPH_KEYRING", "CEPH_USER", "CEPH_POOL")
	kvmha, fenceBin := buildAgent(t, "cmd/kvmha"), buildAgent(t, "cmd/fence_kvmha")
	dir := t.TempDir()
	shared := filepath.Join(dir, "shared")
	os.Mkdir(shared, 0o755)
	ns := uniqueName("hb")
	backends := []string{"rados://" + env["CEPH_POOL"] + "/" + ns, "file://" + shared}

	// The RADOS backend alone: registration, records, messages, hosts.
	cephCfg := ceph.Config{ConfPath: env["CEPH_CONF"], User: env["CEPH_USER"], Keyring: env["CEPH_KEYRING"]}
	spec, _ := heartbeat.ParseBackend(backends[0])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rb, err := radosbackend.Opener(cephCfg, 5*time.Second)(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	if _, err := heartbeat.ReadRecordOf(ctx, rb, "nobody"); !errors.Is(err, heartbeat.ErrNotFound) {
		t.Fatalf("missing record: %v", err)
	}
	if hs, err := rb.Hosts(ctx); err != nil || len(hs) != 0 {
		t.Fatalf("hosts of a new namespace: %v %v", hs, err)
	}

	selfFence := filepath.Join(dir, "selffence.sh")
	fenced := filepath.Join(dir, "fenced")
	os.WriteFile(selfFence, []byte("#!/bin/sh\necho \"$1 $2\" >> "+fenced+"\n"), 0o755)
	config := func(node string, timeout, wd time.Duration) *heartbeat.Config {
		return &heartbeat.Config{Node: node, Backends: backends, Interval: heartbeat.Duration(time.Second),
			Timeout: heartbeat.Duration(timeout), WatchdogDevice: "file:" + dir + "/wd-%n",
			WatchdogTimeout: heartbeat.Duration(wd), SelfFence: "exec:" + selfFence,
			CephConf: env["CEPH_CONF"], CephUser: env["CEPH_USER"], CephKeyring: env["CEPH_KEYRING"],
			StateDir: filepath.Join(dir, node)}
	}
	fenceOpts := func(action, plug, stateDir string) map[string]string {
		return map[string]string{"action": action, "plug": plug, "backends": strings.Join(backends, ","),
			"ceph_conf": env["CEPH_CONF"], "ceph_user": env["CEPH_USER"], "ceph_keyring": env["CEPH_KEYRING"],
			"state_dir": stateDir, "margin": "1"}
	}

	a := startHeartbeat(t, kvmha, config("hosta", 5*time.Second, 5*time.Second))
	if hs, err := rb.Hosts(ctx); err != nil || strings.Join(hs, " ") != "hosta" {
		t.Fatalf("hosts: %v %v", hs, err)
	}
	var rec *heartbeat.Record
	waitFor(t, 10*time.Second, "a record promising the watchdog", func() bool {
		rec, err = heartbeat.ReadRecordOf(ctx, rb, "hosta")
		return err == nil && rec.WatchdogMs == 5000
	})
	if rec.State != heartbeat.StateRunning || len(rec.Addrs) == 0 {
		t.Fatalf("hosta's record on RADOS: %+v %v", rec, err)
	}
	t.Logf("hosta's record: seq %d, Ceph addresses %v", rec.Seq, rec.Addrs)
	out, err := exec.Command(kvmha, "heartbeat", "status", "--state-dir", a.cfg.StateDir, "--output", "json").Output()
	var st struct {
		Hosts []heartbeat.HostReport `json:"hosts"`
	}
	if err != nil || json.Unmarshal(out, &st) != nil || len(st.Hosts) != 1 || st.Hosts[0].BackendsOK != 2 {
		t.Fatalf("status: %v %s", err, out)
	}
	table, _ := exec.Command(kvmha, "heartbeat", "status", "--state-dir", a.cfg.StateDir).Output()
	t.Logf("kvmha heartbeat status:\n%s", table)
	for action, want := range map[string]int{"status": 0, "monitor": 0, "list": 0} {
		code, out, _ := runFenceAgent(t, fenceBin, fenceOpts(action, "hosta", a.cfg.StateDir))
		if code != want || (action == "list" && !strings.Contains(out, "hosta")) {
			t.Fatalf("fence_kvmha %s: exit %d\n%s", action, code, out)
		}
	}

	// A live host: the message reaches it, it acknowledges and runs its self-fence.
	code, fout, took := runFenceAgent(t, fenceBin, fenceOpts("reboot", "hosta", filepath.Join(dir, "nostate")))
	if code != 0 {
		t.Fatalf("fence_kvmha reboot hosta: exit %d\n%s\n%s", code, fout, a.logText())
	}
	t.Logf("reboot of a live host acknowledged in %.0f ms", took.Seconds()*1000)
	if took > 5*time.Second {
		t.Fatalf("the acknowledgement took %s", took)
	}
	waitFor(t, 10*time.Second, "hosta's self-fence", func() bool {
		b, _ := os.ReadFile(fenced)
		return strings.Contains(string(b), "hosta reboot")
	})
	if rec, _ := heartbeat.ReadRecordOf(ctx, rb, "hosta"); rec == nil || rec.Ack == nil || rec.State != heartbeat.StateFencing {
		t.Fatalf("no ack on RADOS: %+v", rec)
	}

	// A crashed host: only staleness proves it, after timeout + watchdog + margin.
	b := startHeartbeat(t, kvmha, config("hostb", 2*time.Second, time.Second))
	waitFor(t, 10*time.Second, "hostb's records promising its watchdog", func() bool {
		r1, _ := heartbeat.ReadRecordOf(ctx, rb, "hostb")
		data, _ := os.ReadFile(filepath.Join(shared, "hostb.record"))
		r2, _ := heartbeat.DecodeRecord(data)
		return r1 != nil && r2 != nil && r1.WatchdogMs > 0 && r2.WatchdogMs > 0
	})
	b.cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	code, fout, _ = runFenceAgent(t, fenceBin, fenceOpts("off", "hostb", filepath.Join(dir, "nostate")))
	took = time.Since(killed)
	if code != 0 || !strings.Contains(fout, "Powered OFF") {
		t.Fatalf("fence_kvmha off hostb: exit %d\n%s", code, fout)
	}
	if took < 4*time.Second {
		t.Fatalf("hostb proven dead %s after the crash, before timeout 2s + watchdog 1s + margin 1s", took)
	}
	t.Logf("crashed host proven dead %.1f s after the crash", took.Seconds())

	// A cleanly stopped host: its record says so, and nothing can prove it dead.
	c := startHeartbeat(t, kvmha, config("hostc", 5*time.Second, 5*time.Second))
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		t.Fatal("hostc did not stop")
	}
	if !strings.Contains(c.logText(), "disarmed") {
		t.Fatalf("hostc did not disarm its watchdog:\n%s", c.logText())
	}
	if _, err := os.Stat(filepath.Join(dir, "wd-hostc")); !os.IsNotExist(err) {
		t.Fatal("hostc's watchdog file is still there")
	}
	code, fout, _ = runFenceAgent(t, fenceBin, fenceOpts("off", "hostc", filepath.Join(dir, "nostate")))
	if code != 1 || !strings.Contains(fout, "stopped cleanly") {
		t.Fatalf("fence_kvmha off of a stopped host: exit %d\n%s", code, fout)
	}
}

// ---- the three-node cluster ---------------------------------------------------------------

// hbCluster is the 3-node lab with HostHeartbeat as a clone, fence_kvmha as the only fence
// device, and a watchdog stand-in that resets a node whose watchdog file gets old.
type hbCluster struct {
	t        *testing.T
	dir      string // on the host's filesystem, which every node sees
	shared   string // the shared-directory backend
	backends string
	env      labEnv
	stopWD   context.CancelFunc
	wdFired  chan string
}

func (c *hbCluster) onNode(i string, args ...string) (string, error) {
	out, err := exec.Command(filepath.Join(labDir(), "nodes.sh"), append([]string{"exec", i}, args...)...).CombinedOutput()
	return string(out), err
}

func (c *hbCluster) mustOnNode(i string, args ...string) string {
	c.t.Helper()
	out, err := c.onNode(i, args...)
	if err != nil {
		c.t.Fatalf("node%s: %s: %v\n%s", i, strings.Join(args, " "), err, out)
	}
	return out
}

func (c *hbCluster) status(from string) *clusterStatus {
	out, err := c.onNode(from, "crm_mon", "-1", "--output-as=xml")
	if err != nil {
		return &clusterStatus{}
	}
	st, _ := parseStatus([]byte(out))
	return st
}

// clonesRunning counts the nodes running an instance of the heartbeat clone.
func (c *hbCluster) clonesRunning(from string) int {
	out, _ := c.onNode(from, "crm_mon", "-1", "--output-as=xml")
	return strings.Count(out, `resource_agent="ocf:kvmha:HostHeartbeat" role="Started"`)
}

// fencings counts node's successful fencing events in the history.
func (c *hbCluster) fencings(from, node string) int {
	out, _ := c.onNode(from, "stonith_admin", "--history", node, "--verbose", "--output-as=xml")
	return strings.Count(out, `status="success"`)
}

func (c *hbCluster) online(from string, node string) bool {
	for _, n := range c.status(from).online() {
		if n == node {
			return true
		}
	}
	return false
}

// record reads node's record from the shared directory.
func (c *hbCluster) record(node string) *heartbeat.Record {
	data, err := os.ReadFile(filepath.Join(c.shared, node+".record"))
	if err != nil {
		return nil
	}
	r, _ := heartbeat.DecodeRecord(data)
	return r
}

// watchdogs plays the nodes' hardware watchdogs: a node whose watchdog file (which its
// daemon rewrites at every feed) is older than its timeout is powered off. A node that is
// off has no watchdog running.
func (c *hbCluster) watchdogs(ctx context.Context) {
	nodes := filepath.Join(os.Getenv("LAB_STATE"), "nodes")
	if os.Getenv("LAB_STATE") == "" {
		nodes = filepath.Join(labDir(), ".state", "nodes")
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		for i := 1; i <= 3; i++ {
			file := filepath.Join(c.dir, fmt.Sprintf("wd-node%d", i))
			pid, _ := os.ReadFile(filepath.Join(nodes, fmt.Sprintf("node%d", i), "init.pid"))
			if len(pid) == 0 {
				os.Remove(file)
				continue
			}
			fi, err := os.Stat(file)
			if err != nil {
				continue
			}
			data, _ := os.ReadFile(file)
			var ms int64
			fmt.Sscanf(string(data), "timeout_ms=%d", &ms)
			if ms <= 0 || time.Since(fi.ModTime()) < time.Duration(ms)*time.Millisecond {
				continue
			}
			os.Remove(file)
			exec.Command(filepath.Join(labDir(), "nodes.sh"), "kill", fmt.Sprint(i)).Run()
			c.wdFired <- fmt.Sprintf("node%d", i)
		}
	}
}

func setUpHeartbeatCluster(t *testing.T) *hbCluster {
	hbBin, fenceBin, kvmha := buildAgent(t, "cmd/HostHeartbeat"), buildAgent(t, "cmd/fence_kvmha"), buildAgent(t, "cmd/kvmha")
	installFenceAgent(t, fenceBin, "fence_kvmha")
	installFenceAgent(t, kvmha, "kvmha")
	if out, err := exec.Command("install", "-D", "-m", "0755", hbBin, "/usr/lib/ocf/resource.d/kvmha/HostHeartbeat").CombinedOutput(); err != nil {
		t.Fatalf("install HostHeartbeat: %v\n%s", err, out)
	}
	os.Setenv("LAB_NODES_CEPH", "1")
	start := time.Now()
	if out, err := labScript(t, 3*time.Minute, "nodes.sh", "up", "3"); err != nil {
		t.Fatalf("nodes.sh up: %v\n%s", err, out)
	}
	t.Logf("3 nodes and their Ceph up in %.1f s", time.Since(start).Seconds())
	c := &hbCluster{t: t, wdFired: make(chan string, 10)}
	t.Cleanup(func() {
		if out, err := labScript(t, 3*time.Minute, "nodes.sh", "down"); err != nil {
			t.Errorf("nodes.sh down: %v\n%s", err, out)
		}
		if c.stopWD != nil {
			c.stopWD()
		}
	})
	c.env = heartbeatEnv(t, "NODES_CEPH_CONF", "NODES_CEPH_KEYRING", "NODES_CEPH_USER", "NODES_CEPH_POOL")
	state := os.Getenv("LAB_STATE")
	if state == "" {
		state = filepath.Join(labDir(), ".state")
	}
	c.dir = filepath.Join(state, uniqueName("heartbeat"))
	c.shared = filepath.Join(c.dir, "shared")
	if err := os.MkdirAll(c.shared, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(c.dir) })
	// The lab's self-fence: ask the power switch, as a node's BMC would be asked.
	sw := os.Getenv("LAB_SWITCH_DIR")
	if sw == "" {
		sw = "/var/lib/kvmha-lab/switch"
	}
	selfFence := filepath.Join(c.dir, "selffence.sh")
	script := fmt.Sprintf("#!/bin/sh\nid=selffence-$1-$$\necho \"$2 $1\" > %s/req/$id.tmp && mv %s/req/$id.tmp %s/req/$id.req\n", sw, sw, sw)
	if err := os.WriteFile(selfFence, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	c.stopWD = cancel
	go c.watchdogs(wctx)

	c.backends = fmt.Sprintf("rados://%s/kvmha-hb,file://%s", c.env["NODES_CEPH_POOL"], c.shared)
	cephOpts := []string{"ceph_conf=" + c.env["NODES_CEPH_CONF"], "ceph_user=" + c.env["NODES_CEPH_USER"],
		"ceph_keyring=" + c.env["NODES_CEPH_KEYRING"]}
	c.mustOnNode("1", "pcs", "stonith", "delete", "lab-fence")
	c.mustOnNode("1", append([]string{"pcs", "resource", "create", "hb", "ocf:kvmha:HostHeartbeat",
		"backends=" + c.backends, "watchdog_device=file:" + c.dir + "/wd-%n", "self_fence=exec:" + selfFence,
		"libvirt_uri=none"}, append(cephOpts, "op", "monitor", "interval=10s", "clone")...)...)
	c.mustOnNode("1", append([]string{"pcs", "stonith", "create", "kvmha-fence", "fence_kvmha",
		"backends=" + c.backends, "pcmk_host_list=node1 node2 node3"}, cephOpts...)...)
	c.mustOnNode("1", "pcs", "resource", "create", "d1", "ocf:heartbeat:Dummy", "op", "monitor", "interval=5s")
	took := waitFor(t, 90*time.Second, "heartbeat on 3 nodes, fence_kvmha and d1 started", func() bool {
		st := c.status("1")
		return c.clonesRunning("1") == 3 && st.runningOn("kvmha-fence") != "" && st.runningOn("d1") != ""
	})
	t.Logf("heartbeat clone, fence_kvmha and d1 running %.1f s after creation", took.Seconds())
	return c
}

// restart powers node i on again (if off) and waits until it is back with its heartbeat.
// Powering a machine on starts its hardware watchdog afresh: the node's stand-in watchdog
// file goes, or the stand-in would reset the node again before its heartbeat (which rewrites
// the file) is started.
func (c *hbCluster) restart(i string) {
	c.t.Helper()
	os.Remove(filepath.Join(c.dir, "wd-node"+i))
	if out, err := labScript(c.t, time.Minute, "nodes.sh", "start", i); err != nil {
		c.t.Fatalf("nodes.sh start %s: %v\n%s", i, err, out)
	}
	took := waitFor(c.t, 2*time.Minute, "node"+i+" back with its heartbeat", func() bool {
		return c.online("1", "node"+i) && c.clonesRunning("1") == 3
	})
	c.t.Logf("node%s back with its heartbeat after %.1f s", i, took.Seconds())
}

// TestHeartbeatThreeNodeCluster: the 3-node lab with HostHeartbeat on the hub Ceph and a
// shared directory, fence_kvmha as the only fence device:
//   - a node whose RADOS path is lost (its address blocklisted) gets kvmha-storage=0, then 1;
//   - a node whose daemon hangs (SIGSTOP) stops feeding its watchdog, which resets it, and
//     fence_kvmha proves it dead by staleness;
//   - a node cut from the cluster network (and the hub Ceph) gets the fence message through
//     the shared directory, acknowledges it and fences itself, and the fence completes;
//   - a killed node is proven dead by staleness and its resource runs elsewhere.
func TestHeartbeatThreeNodeCluster(t *testing.T) {
	lockPacemaker(t)
	heartbeatEnv(t)
	c := setUpHeartbeatCluster(t)

	t.Run("storage attribute", func(t *testing.T) {
		attr := func() string {
			out, _ := c.onNode("1", "attrd_updater", "-Q", "-n", "kvmha-storage", "-N", "node3")
			return out
		}
		waitFor(t, 30*time.Second, "kvmha-storage=1 on node3", func() bool { return strings.Contains(attr(), `value="1"`) })
		hub := func(args ...string) {
			t.Helper()
			full := append([]string{"netns", "exec", "kvmha-hub", "ceph", "-c", c.env["NODES_CEPH_CONF"], "-k", c.env["NODES_CEPH_ADMIN_KEYRING"]}, args...)
			if out, err := exec.Command("ip", full...).CombinedOutput(); err != nil {
				t.Fatalf("ceph %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		hub("osd", "blocklist", "add", "10.77.0.3:0/0")
		took := waitFor(t, 60*time.Second, "kvmha-storage=0 on node3", func() bool { return strings.Contains(attr(), `value="0"`) })
		t.Logf("node3 blocklisted: kvmha-storage=0 after %.1f s", took.Seconds())
		if st := c.status("1"); !c.online("1", "node3") || c.clonesRunning("1") != 3 || st.runningOn("d1") == "" {
			t.Fatal("losing one of two backends must not fail the heartbeat")
		}
		hub("osd", "blocklist", "rm", "10.77.0.3:0/0")
		took = waitFor(t, 90*time.Second, "kvmha-storage=1 on node3", func() bool { return strings.Contains(attr(), `value="1"`) })
		t.Logf("blocklist entry removed: kvmha-storage=1 after %.1f s", took.Seconds())
	})

	t.Run("hung daemon", func(t *testing.T) {
		before := c.fencings("1", "node3")
		pid := strings.TrimSpace(c.mustOnNode("3", "cat", "/run/kvmha/heartbeat.pid"))
		c.mustOnNode("3", "kill", "-STOP", pid)
		stopped := time.Now()
		select {
		case n := <-c.wdFired:
			if n != "node3" {
				t.Fatalf("the watchdog of %s fired", n)
			}
			t.Logf("node3's watchdog reset it %.1f s after its daemon hung", time.Since(stopped).Seconds())
		case <-time.After(30 * time.Second):
			t.Fatal("node3's watchdog did not fire")
		}
		waitFor(t, 90*time.Second, "node3 fenced", func() bool { return c.fencings("1", "node3") > before })
		t.Logf("node3 fenced %.1f s after its daemon hung", time.Since(stopped).Seconds())
		c.restart("3")
	})

	t.Run("network cut", func(t *testing.T) {
		before := c.fencings("1", "node2")
		if out, err := exec.Command("ip", "-n", "kvmha-hub", "link", "set", "n2", "down").CombinedOutput(); err != nil {
			t.Fatalf("cut node2: %v\n%s", err, out)
		}
		restored := false
		restore := func() {
			if !restored {
				exec.Command("ip", "-n", "kvmha-hub", "link", "set", "n2", "up").Run()
				restored = true
			}
		}
		defer restore()
		took := waitFor(t, 90*time.Second, "node2 fenced", func() bool { return c.fencings("1", "node2") > before })
		restore()
		t.Logf("node2 cut off: fenced %.1f s later", took.Seconds())
		r := c.record("node2")
		if r == nil || r.State != heartbeat.StateFencing || r.Ack == nil {
			t.Fatalf("node2 did not acknowledge through the shared directory: %+v", r)
		}
		t.Logf("node2 acknowledged fence message %s (%s from %s) and fenced itself", r.Ack.ID, r.Ack.Cmd, r.Ack.From)
		select {
		case n := <-c.wdFired:
			t.Fatalf("the watchdog of %s fired: the message should have been faster", n)
		default:
		}
		// The switch powers node2 on again after its reboot delay.
		waitFor(t, 2*time.Minute, "node2 back with its heartbeat", func() bool {
			return c.online("1", "node2") && c.clonesRunning("1") == 3
		})
	})

	t.Run("killed node", func(t *testing.T) {
		var victim string
		waitFor(t, 60*time.Second, "d1 started", func() bool { victim = c.status("1").runningOn("d1"); return victim != "" })
		i := strings.TrimPrefix(victim, "node")
		observer := "1"
		if i == "1" {
			observer = "2"
		}
		before := c.fencings(observer, victim)
		if out, err := labScript(t, time.Minute, "nodes.sh", "kill", i); err != nil {
			t.Fatalf("kill %s: %v\n%s", victim, err, out)
		}
		killed := time.Now()
		fenced := waitFor(t, 90*time.Second, victim+" fenced", func() bool { return c.fencings(observer, victim) > before })
		waitFor(t, 60*time.Second, "d1 elsewhere", func() bool {
			on := c.status(observer).runningOn("d1")
			return on != "" && on != victim
		})
		t.Logf("%s killed: fenced after %.1f s, d1 running elsewhere after %.1f s", victim, fenced.Seconds(), time.Since(killed).Seconds())
		if r := c.record(victim); r == nil || r.State != heartbeat.StateRunning {
			t.Fatalf("%s's last record: %+v", victim, r)
		}
		c.restart(i)
	})
}

// TestHeartbeatRecordListsRunningGuests: the daemon lists the running guests of its libvirtd
// (over go-libvirt) with their block I/O counters in its record, and drops a guest once it
// is gone.
func TestHeartbeatRecordListsRunningGuests(t *testing.T) {
	env := heartbeatEnv(t, "LIBVIRT_URI")
	kvmha := buildAgent(t, "cmd/kvmha")
	name := uniqueName("hbguest")
	domXML, err := labScript(t, time.Minute, "guest.sh", "domain", name)
	if err != nil {
		t.Fatalf("guest.sh domain: %v\n%s", err, domXML)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := libvirt.Dial(ctx, env["LIBVIRT_URI"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dom, err := conn.CreateTransient(ctx, domXML)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Destroy(context.Background(), dom)

	dir := t.TempDir()
	shared := filepath.Join(dir, "shared")
	os.Mkdir(shared, 0o755)
	startHeartbeat(t, kvmha, &heartbeat.Config{Node: "hostg", Backends: []string{"file://" + shared},
		Interval: heartbeat.Duration(time.Second), Timeout: heartbeat.Duration(5 * time.Second),
		WatchdogDevice: "none", SelfFence: "exec:/bin/true", LibvirtURI: env["LIBVIRT_URI"],
		StateDir: filepath.Join(dir, "state")})
	listed := func() bool {
		data, _ := os.ReadFile(filepath.Join(shared, "hostg.record"))
		r, err := heartbeat.DecodeRecord(data)
		if err != nil {
			return false
		}
		for _, g := range r.Guests {
			if g.Name == name && g.UUID == dom.UUID && g.IO != nil {
				return true
			}
		}
		return false
	}
	waitFor(t, 10*time.Second, name+" in the record", listed)
	if err := conn.Destroy(ctx, dom); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, name+" gone from the record", func() bool { return !listed() })
}
