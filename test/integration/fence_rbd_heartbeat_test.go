//go:build lab

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/heartbeat"
)

// fencingEvents counts node's fencing events with action and status in the fencer's history,
// as seen from node from.
func (c *hbCluster) fencingEvents(from, node, action, status string) int {
	out, _ := c.onNode(from, "stonith_admin", "--history", node, "--verbose", "--output-as=xml")
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, `action="`+action+`"`) && strings.Contains(l, `status="`+status+`"`) {
			n++
		}
	}
	return n
}

// settle waits until the cluster has nothing left to do: no transition running (creating an
// unfencing device restarts every resource after unfencing the nodes) and no fencing pending.
func (c *hbCluster) settle(t *testing.T) {
	t.Helper()
	if out, err := c.onNode("1", "crm_resource", "--wait", "--timeout=120"); err != nil {
		t.Fatalf("crm_resource --wait: %v\n%s", err, out)
	}
	waitFor(t, time.Minute, "no fencing pending", func() bool {
		out, _ := c.onNode("1", "stonith_admin", "--history", "*", "--verbose")
		return !strings.Contains(out, "pending")
	})
}

// dumpFencing logs, when t failed, node's fencing history and what the fencers logged about
// it.
func (c *hbCluster) dumpFencing(t *testing.T, node string) {
	if !t.Failed() {
		return
	}
	hist, _ := c.onNode("1", "stonith_admin", "--history", node, "--verbose")
	t.Logf("fencing history of %s:\n%s", node, hist)
	state := os.Getenv("LAB_STATE")
	if state == "" {
		state = filepath.Join(labDir(), ".state")
	}
	for i := 1; i <= 3; i++ {
		data, _ := os.ReadFile(filepath.Join(state, "nodes", fmt.Sprintf("node%d", i), "root", "var-log-pacemaker", "pacemaker.log"))
		var lines []string
		for _, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, "fenced") && strings.Contains(l, node) {
				lines = append(lines, l)
			}
		}
		lines = lines[max(0, len(lines)-40):]
		t.Logf("node%d's fencer about %s:\n%s", i, node, strings.Join(lines, "\n"))
	}
}

// TestFenceRBDHeartbeatLevel: the 3-node heartbeat lab (HostHeartbeat on the hub Ceph and a
// shared directory, fence_kvmha) with fence_rbd configured by its heartbeat option alone (no
// hosts: every node's addresses come from its heartbeat record, read through fence_rbd's own
// session with the fencing user's caps), and fencing level 1 of every node = rbd-fence,
// kvmha-fence:
//   - A: stonith_admin --fence node2 runs both devices: a client on node2's address fails
//     with the blocklist error, node2 acknowledges the fence message and powers itself off
//     through the lab's switch; started again, node2 is unfenced by Pacemaker on its own
//     (fence_rbd "on", although the level also holds fence_kvmha, which has no "on"), and a
//     new client on node2 writes again;
//   - B: node3 is killed; Pacemaker fences it through the level (fence_rbd blocklists it at
//     once, fence_kvmha proves it dead by staleness) and d1 runs elsewhere.
func TestFenceRBDHeartbeatLevel(t *testing.T) {
	lockPacemaker(t)
	heartbeatEnv(t)
	installFenceAgent(t, buildAgent(t, "cmd/fence_rbd"), "fence_rbd")
	c := setUpHeartbeatCluster(t)
	env := labEnvWith(t, "NODES_CEPH_CONF", "NODES_CEPH_USER", "NODES_CEPH_KEYRING", "NODES_CEPH_ADMIN_KEYRING", "NODES_CEPH_POOL")
	conf, pool := env["NODES_CEPH_CONF"], env["NODES_CEPH_POOL"]
	inHub := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("ip", append([]string{"netns", "exec", "kvmha-hub"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	blocklist := func() string {
		return inHub("ceph", "-c", conf, "-k", env["NODES_CEPH_ADMIN_KEYRING"], "osd", "blocklist", "ls")
	}

	// The fencing user: the caps fence_rbd documents; rbd-read-only on the pool also lets it
	// read the heartbeat records in the pool's kvmha-hb namespace.
	keyring := filepath.Join(c.dir, "ceph.client.fence.keyring")
	inHub("ceph", "-c", conf, "-k", env["NODES_CEPH_ADMIN_KEYRING"], "auth", "get-or-create", "client.fence",
		"mon", fenceMonCaps, "osd", "profile rbd-read-only pool="+pool, "-o", keyring)
	os.Chmod(keyring, 0o600)
	rbdOpts := []string{"heartbeat=" + c.backends, "ceph_conf=" + conf, "ceph_user=fence", "ceph_keyring=" + keyring, "pools=" + pool}
	agentOpts := func(action, plug, backends string) map[string]string {
		return map[string]string{"action": action, "port": plug, "heartbeat": backends, "ceph_conf": conf,
			"ceph_user": "fence", "ceph_keyring": keyring, "verbose": "1"}
	}
	rbdFromNode := func(from string, opts map[string]string) (int, string) {
		code, out, _ := runFenceCommand(t, []string{filepath.Join(labDir(), "nodes.sh"), "exec", from, "/usr/sbin/fence_rbd"}, opts)
		return code, out
	}

	// Before any device uses it: from node1, the records name every node, and node2's record
	// is read from RADOS alone through the fencing user's session.
	listOpts := agentOpts("list", "", c.backends)
	delete(listOpts, "verbose")
	if code, out := rbdFromNode("1", listOpts); code != 0 || out != "node1,\nnode2,\nnode3,\n" {
		t.Fatalf("fence_rbd list from the records: exit %d\n%s", code, out)
	}
	radosOnly := "rados://" + pool + "/kvmha-hb"
	if code, out := rbdFromNode("1", agentOpts("status", "node2", radosOnly)); code != 0 || !strings.Contains(out, "heartbeat record of node2 read in") {
		t.Fatalf("fence_rbd status node2 from the RADOS record: exit %d\n%s", code, out)
	}
	rec := c.record("node2")
	if rec == nil || len(rec.Addrs) == 0 {
		t.Fatalf("node2's record has no Ceph address: %+v", rec)
	}
	t.Logf("node2's heartbeat record: Ceph addresses %v", rec.Addrs)

	// rbd-fence without hosts, unfencing, and level 1 = rbd-fence + kvmha-fence everywhere.
	unfenced := map[string]int{}
	for _, n := range []string{"node1", "node2", "node3"} {
		unfenced[n] = c.fencingEvents("1", n, "on", "success")
	}
	c.mustOnNode("1", append(append([]string{"pcs", "stonith", "create", "rbd-fence", "fence_rbd"}, rbdOpts...),
		"pcmk_host_list=node1 node2 node3", "meta", "provides=unfencing")...)
	for _, n := range []string{"node1", "node2", "node3"} {
		c.mustOnNode("1", "pcs", "stonith", "level", "add", "1", n, "rbd-fence", "kvmha-fence")
	}
	created := time.Now()
	waitFor(t, 2*time.Minute, "every node unfenced, rbd-fence, the heartbeat clone and d1 running", func() bool {
		for n, before := range unfenced {
			if c.fencingEvents("1", n, "on", "success") <= before {
				return false
			}
		}
		st := c.status("1")
		return st.runningOn("rbd-fence") != "" && c.clonesRunning("1") == 3 && st.runningOn("d1") != ""
	})
	c.settle(t)
	t.Logf("rbd-fence created: every node unfenced and the cluster settled in %.1f s", time.Since(created).Seconds())
	levels := c.mustOnNode("1", "pcs", "stonith", "level", "config")
	t.Logf("fencing levels:\n%s", strings.TrimSpace(levels))

	t.Run("A stonith_admin fence and unfence", func(t *testing.T) {
		defer c.dumpFencing(t, "node2")
		c.settle(t)
		image := uniqueName("fencehb")
		target := fmt.Sprintf("rbd:%s/%s:id=%s:conf=%s:keyring=%s", pool, image, env["NODES_CEPH_USER"], conf, env["NODES_CEPH_KEYRING"])
		inHub("qemu-img", "create", "-f", "raw", target, "16M")
		// node2's storage client runs in node2's network namespace but outside its pid
		// namespace: it outlives node2's power-off, the way a hung client of a half-dead host
		// would, and Ceph knows it by node2's address only.
		q := startQemuIOCommand(t, "ip", "netns", "exec", "kvmha-n2", "qemu-io", "-f", "raw", target)
		if l := q.write(t, 0x41); !strings.Contains(l, "wrote 65536/65536") {
			t.Fatalf("write from node2: %s", l)
		}
		offBefore := c.fencingEvents("1", "node2", "off", "success")
		start := time.Now()
		if out, err := c.onNode("1", "stonith_admin", "--fence", "node2", "--timeout", "90"); err != nil {
			t.Fatalf("stonith_admin --fence node2: %v\n%s", err, out)
		}
		t.Logf("A: stonith_admin --fence node2 (level 1: rbd-fence, kvmha-fence) confirmed in %.2f s", time.Since(start).Seconds())
		if l := q.write(t, 0x42); !strings.Contains(l, "Cannot send after transport endpoint shutdown") {
			t.Fatalf("write from node2 after fencing: %s", l)
		}
		if bl := blocklist(); !strings.Contains(bl, "10.77.0.2:0/0") {
			t.Fatalf("node2's address is not blocklisted:\n%s", bl)
		}
		if code, out := rbdFromNode("1", agentOpts("status", "node2", c.backends)); code != 2 {
			t.Fatalf("fence_rbd status node2 after fencing: exit %d\n%s", code, out)
		}
		if n := c.fencingEvents("1", "node2", "off", "success"); n != offBefore+1 {
			t.Fatalf("%d successful offs of node2 in the history, want %d", n, offBefore+1)
		}
		// fence_kvmha ran too: node2 acknowledged and powered itself off through the switch.
		r := c.record("node2")
		if r == nil || r.State != heartbeat.StateFencing || r.Ack == nil || r.Ack.Cmd != heartbeat.CmdOff {
			t.Fatalf("node2 did not acknowledge a fence message: %+v", r)
		}
		waitFor(t, 30*time.Second, "node2 powered off", func() bool { _, err := c.onNode("2", "true"); return err != nil })
		t.Logf("A: node2 acknowledged fence message %s (%s from %s) and powered itself off", r.Ack.ID, r.Ack.Cmd, r.Ack.From)

		// Started again, node2 rejoins; Pacemaker unfences it before it starts any resource.
		onBefore := c.fencingEvents("1", "node2", "on", "success")
		rejoin := time.Now()
		c.restart("2")
		took := waitFor(t, 90*time.Second, "node2 unfenced", func() bool {
			return c.fencingEvents("1", "node2", "on", "success") > onBefore
		})
		t.Logf("A: node2 unfenced by Pacemaker %.1f s after it was started (%.1f s after it was back)", time.Since(rejoin).Seconds(), took.Seconds())
		if code, out := rbdFromNode("1", agentOpts("status", "node2", c.backends)); code != 0 {
			t.Fatalf("fence_rbd status node2 after unfencing: exit %d\n%s", code, out)
		}
		if bl := blocklist(); strings.Contains(bl, "10.77.0.2:0/0") {
			t.Fatalf("node2's address is still blocklisted:\n%s", bl)
		}
		q2 := startQemuIOCommand(t, "ip", "netns", "exec", "kvmha-n2", "qemu-io", "-f", "raw", target)
		if l := q2.write(t, 0x43); !strings.Contains(l, "wrote 65536/65536") {
			t.Fatalf("write from node2 after unfencing: %s", l)
		}
	})

	t.Run("B killed node", func(t *testing.T) {
		defer c.dumpFencing(t, "node3")
		if c.status("1").runningOn("d1") != "node3" {
			c.mustOnNode("1", "crm_resource", "--resource", "d1", "--move", "--node", "node3")
			defer c.onNode("1", "crm_resource", "--resource", "d1", "--clear")
			waitFor(t, 60*time.Second, "d1 on node3", func() bool { return c.status("1").runningOn("d1") == "node3" })
		}
		c.settle(t)
		before := c.fencings("1", "node3")
		if out, err := labScript(t, time.Minute, "nodes.sh", "kill", "3"); err != nil {
			t.Fatalf("kill node3: %v\n%s", err, out)
		}
		killed := time.Now()
		blocked := waitFor(t, 90*time.Second, "node3 blocklisted", func() bool { return strings.Contains(blocklist(), "10.77.0.3:0/0") })
		fenced := waitFor(t, 90*time.Second, "node3 fenced", func() bool { return c.fencings("1", "node3") > before })
		waitFor(t, 60*time.Second, "d1 elsewhere", func() bool {
			on := c.status("1").runningOn("d1")
			return on != "" && on != "node3"
		})
		t.Logf("B: node3 killed: blocklisted by fence_rbd after %.1f s, fencing confirmed (fence_kvmha: stale record) after %.1f s, d1 running elsewhere after %.1f s",
			blocked.Seconds(), blocked.Seconds()+fenced.Seconds(), time.Since(killed).Seconds())
		if bl := blocklist(); !strings.Contains(bl, "10.77.0.3:0/0") {
			t.Fatalf("node3's address is no longer blocklisted:\n%s", bl)
		}
		if r := c.record("node3"); r == nil || r.State != heartbeat.StateRunning {
			t.Fatalf("node3's last record: %+v", r)
		}
	})
}
