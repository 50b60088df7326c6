//go:build lab

package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"

	"github.com/kvmha/kvmha/internal/ceph"
)

// The fence_rbd tests need a Ceph client on another address than the fencer: a "victim"
// network namespace joined to the host by a veth pair, and a throwaway Ceph (ceph.sh, on
// the host side of that pair) that both the host and the victim reach. The lab's main
// Ceph listens on 127.0.0.1, which no other namespace can reach.

// victimNet is a network namespace with one address, on a /30 shared with the host.
type victimNet struct {
	ns, hostIf       string
	hostIP, victimIP string
}

func newVictimNet(t *testing.T) *victimNet {
	t.Helper()
	pid := os.Getpid()
	v := &victimNet{ns: fmt.Sprintf("kvmha-fr%d", pid), hostIf: fmt.Sprintf("kvfr%d", pid%100000)}
	// A /30 in 10.231.0.0/16 that no interface of the host uses yet.
	for i := 0; i < 64 && v.hostIP == ""; i++ {
		n := (pid + i) % 16384
		host := fmt.Sprintf("10.231.%d.%d", n/64, n%64*4+1)
		if out, _ := exec.Command("ip", "-o", "addr", "show", "to", host+"/30").Output(); len(out) == 0 {
			v.hostIP, v.victimIP = host, fmt.Sprintf("10.231.%d.%d", n/64, n%64*4+2)
		}
	}
	if v.hostIP == "" {
		t.Fatal("no free /30 in 10.231.0.0/16")
	}
	steps := [][]string{
		{"ip", "netns", "add", v.ns},
		{"ip", "link", "add", v.hostIf, "type", "veth", "peer", "name", "eth0", "netns", v.ns},
		{"ip", "addr", "add", v.hostIP + "/30", "dev", v.hostIf},
		{"ip", "link", "set", v.hostIf, "up"},
		{"ip", "-n", v.ns, "addr", "add", v.victimIP + "/30", "dev", "eth0"},
		{"ip", "-n", v.ns, "link", "set", "eth0", "up"},
		{"ip", "-n", v.ns, "link", "set", "lo", "up"},
	}
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", v.hostIf).Run()
		exec.Command("ip", "netns", "del", v.ns).Run()
	})
	for _, s := range steps {
		if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(s, " "), err, out)
		}
	}
	return v
}

// fenceMonCaps are the monitor caps fence_rbd documents for its user.
const fenceMonCaps = `allow r, allow command "osd blocklist", ` +
	`allow command "config-key get" with key prefix kvmha/fence_rbd/, ` +
	`allow command "config-key set" with key prefix kvmha/fence_rbd/, ` +
	`allow command "config-key rm" with key prefix kvmha/fence_rbd/`

// fenceCeph is a throwaway cluster on the victim network's host address, with a cephx user
// for fencing.
type fenceCeph struct {
	conf, userKeyring, adminKeyring, fenceKeyring string
}

func startFenceCeph(t *testing.T, v *victimNet) *fenceCeph {
	t.Helper()
	name := fmt.Sprintf("fencerbd-%d", os.Getpid())
	port := 13300
	if p, err := strconv.Atoi(os.Getenv("LAB_CEPH_PORT")); err == nil {
		port = p
	}
	c := startThrowawayCeph(t, name, "LAB_CEPH_ADDR="+v.hostIP, fmt.Sprintf("LAB_CEPH_PORT=%d", port+200))
	// The fencing user: the caps fence_rbd documents, its keyring readable by root only.
	admin := c.connect(t, "admin", c.adminKeyring)
	cmd, _ := json.Marshal(map[string]any{"prefix": "auth get-or-create", "entity": "client.fence",
		"caps": []string{"mon", fenceMonCaps, "osd", "profile rbd-read-only pool=rbd"}})
	keyring, status, err := admin.MonCommand(cmd)
	if err != nil {
		t.Fatalf("auth get-or-create client.fence: %v (%s)", err, status)
	}
	c.fenceKeyring = filepath.Join(t.TempDir(), "ceph.client.fence.keyring")
	if err := os.WriteFile(c.fenceKeyring, keyring, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// startThrowawayCeph starts a ceph.sh cluster named name with extra environment (address,
// port, namespace), stops and deletes it when the test ends, and returns its files.
func startThrowawayCeph(t *testing.T, name string, extraEnv ...string) *fenceCeph {
	t.Helper()
	env := append(os.Environ(), extraEnv...)
	script := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(labDir(), "ceph.sh"), args...)
		cmd.Env, cmd.WaitDelay = env, 10*time.Second
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ceph.sh %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		script("down", name)
		removeCephState(t, name)
	})
	script("up", name)
	c := &fenceCeph{}
	for _, line := range strings.Split(script("env", name), "\n") {
		k, val, _ := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		switch k {
		case "CEPH_CONF":
			c.conf = val
		case "CEPH_KEYRING":
			c.userKeyring = val
		case "CEPH_ADMIN_KEYRING":
			c.adminKeyring = val
		}
	}
	return c
}

// removeCephState deletes the files of a throwaway cluster the test stopped.
func removeCephState(t *testing.T, name string) {
	state := os.Getenv("LAB_STATE")
	if state == "" {
		state = filepath.Join(labDir(), ".state")
	}
	if err := os.RemoveAll(filepath.Join(state, name)); err != nil {
		t.Errorf("removing the files of %s: %v", name, err)
	}
}

func (c *fenceCeph) connect(t *testing.T, user, keyring string) *rados.Conn {
	t.Helper()
	conn, err := rados.NewConnWithUser(user)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.ReadConfigFile(c.conf); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetConfigOption("keyring", keyring); err != nil {
		t.Fatal(err)
	}
	if err := conn.Connect(); err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(conn.Shutdown)
	return conn
}

// adapter opens an internal/ceph session as the fencing user.
func (c *fenceCeph) adapter(t *testing.T) *ceph.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := ceph.Connect(ctx, ceph.Config{ConfPath: c.conf, User: "fence", Keyring: c.fenceKeyring})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return conn
}

func (c *fenceCeph) createImage(t *testing.T) string {
	t.Helper()
	conn := c.connect(t, "kvmha", c.userKeyring)
	io, err := conn.OpenIOContext("rbd")
	if err != nil {
		t.Fatal(err)
	}
	defer io.Destroy()
	name := uniqueName("fence")
	if err := rbd.CreateImage(io, name, 16<<20, rbd.NewRbdImageOptions()); err != nil {
		t.Fatal(err)
	}
	return name
}

// qemuIO is an interactive qemu-io on an RBD image, in the victim's namespace.
type qemuIO struct {
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
}

func startQemuIO(t *testing.T, v *victimNet, c *fenceCeph, image string) *qemuIO {
	t.Helper()
	target := fmt.Sprintf("rbd:rbd/%s:id=kvmha:conf=%s:keyring=%s", image, c.conf, c.userKeyring)
	return startQemuIOCommand(t, "ip", "netns", "exec", v.ns, "qemu-io", "-f", "raw", target)
}

// write writes 64 KiB of pattern at offset 0 and returns qemu-io's verdict line.
func (q *qemuIO) write(t *testing.T, pattern byte) string {
	t.Helper()
	fmt.Fprintf(q.stdin, "write -P 0x%02x 0 64k\n", pattern)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-q.lines:
			if !ok {
				t.Fatal("qemu-io exited")
			}
			if strings.Contains(l, "wrote ") || strings.Contains(l, "write failed") {
				return l
			}
		case <-timeout:
			t.Fatal("qemu-io did not answer a write in 30 s")
		}
	}
}

func (c *fenceCeph) agentOptions(v *victimNet, action string) map[string]string {
	return map[string]string{"action": action, "port": "victim", "nodename": "victim",
		"hosts": "other=10.231.255.254;victim=" + v.victimIP, "ceph_conf": c.conf,
		"ceph_user": "fence", "ceph_keyring": c.fenceKeyring, "pools": "rbd"}
}

// TestFenceRBDBlocksWritesAndUnfences: a qemu-io writing to an RBD image from the victim's
// address fails with the blocklist error after fence_rbd off, status says OFF, and after
// fence_rbd on (run from the victim, as Pacemaker's unfencing does) a new qemu-io from the
// same address writes again. The internal/ceph adapter
// sees the victim as watcher and locker before, and as blocklisted after.
func TestFenceRBDBlocksWritesAndUnfences(t *testing.T) {
	loadLabEnv(t)
	bin := buildAgent(t, "cmd/fence_rbd")
	v := newVictimNet(t)
	c := startFenceCeph(t, v)
	image := c.createImage(t)
	q := startQemuIO(t, v, c, image)
	if l := q.write(t, 0x11); !strings.Contains(l, "wrote 65536/65536") {
		t.Fatalf("write before fencing: %s", l)
	}

	conn := c.adapter(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	holders, err := conn.Holders(ctx, "rbd", "", image)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[ceph.HolderKind]ceph.Holder{}
	for _, h := range holders {
		if h.Addr.IP.String() != v.victimIP {
			t.Fatalf("holder %v is not the victim (%s)", h, v.victimIP)
		}
		kinds[h.Kind] = h
	}
	if len(kinds) != 2 || !strings.HasPrefix(kinds[ceph.Locker].Cookie, "auto ") {
		t.Fatalf("want the victim as watcher and exclusive-lock owner, got %v", holders)
	}
	victimAddr := kinds[ceph.Watcher].Addr

	offOpts := c.agentOptions(v, "off")
	offOpts["verbose"] = "1"
	code, out, took := runFenceAgent(t, bin, offOpts)
	if code != 0 || !strings.Contains(out, "Success: Powered OFF") {
		t.Fatalf("fence_rbd off: exit %d\n%s", code, out)
	}
	// The holder scan saw the victim's session (as the fencing user, read-only caps).
	if !strings.Contains(out, "fenced "+kinds[ceph.Watcher].String()) {
		t.Fatalf("fence_rbd off did not report the victim's watcher %v:\n%s", kinds[ceph.Watcher], out)
	}
	t.Logf("fence_rbd off took %.0f ms", took.Seconds()*1000)
	if l := q.write(t, 0x12); !strings.Contains(l, "Cannot send after transport endpoint shutdown") {
		t.Fatalf("write after fencing: %s", l)
	}
	if blocked, err := conn.IsBlocklisted(ctx, victimAddr); err != nil || !blocked {
		t.Fatalf("IsBlocklisted(%s) = %v, %v", victimAddr, blocked, err)
	}
	if live, err := conn.LiveHolders(ctx, "rbd", "", image); err != nil || len(live) != 0 {
		t.Fatalf("live holders after fencing: %v, %v", live, err)
	}
	if code, out, _ := runFenceAgent(t, bin, c.agentOptions(v, "status")); code != 2 {
		t.Fatalf("status after off: exit %d\n%s", code, out)
	}

	// Unfencing runs on the fenced node itself (on_target), from a blocklisted address: it
	// must need the monitors only.
	code, out, took = runFenceCommand(t, []string{"ip", "netns", "exec", v.ns, bin}, c.agentOptions(v, "on"))
	if code != 0 || !strings.Contains(out, "Success: Powered ON") {
		t.Fatalf("fence_rbd on, run from the victim: exit %d\n%s", code, out)
	}
	t.Logf("fence_rbd on took %.0f ms", took.Seconds()*1000)
	if code, out, _ := runFenceAgent(t, bin, c.agentOptions(v, "status")); code != 0 {
		t.Fatalf("status after on: exit %d\n%s", code, out)
	}
	// Unfencing lifts the node's entries; the client instance that held the lock when the
	// node was fenced stays blocklisted (that incarnation is dead, and its lock must stay
	// breakable), and a new client of the node writes.
	bl, err := conn.Blocklist(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := bl.Covering(ceph.EntityAddr{IP: victimAddr.IP, Port: victimAddr.Port, Nonce: victimAddr.Nonce + 1}); ok {
		t.Fatalf("after unfencing the victim's node is still blocklisted by %s", e)
	}
	if e, ok := bl.Covering(victimAddr); !ok || e.Addr.IsHost() || e.IsRange() {
		t.Fatalf("after unfencing, the fenced client instance %s: covered by %v (%v), want its own entry", victimAddr, e, ok)
	}
	q2 := startQemuIO(t, v, c, image)
	if l := q2.write(t, 0x13); !strings.Contains(l, "wrote 65536/65536") {
		t.Fatalf("write from a new client after unfencing: %s", l)
	}
}

// TestCephAdapterDeadlines: the adapter tries every monitor of mon_host (a dead one first
// costs a retry, not a failure), and a monitor that accepts but never answers cannot hold
// Connect past its context.
func TestCephAdapterDeadlines(t *testing.T) {
	env := loadLabEnv(t)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	go func() { // accept and say nothing: a hung monitor
		for {
			c, err := dead.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	hung := dead.Addr().String()
	cfg := ceph.Config{User: env["CEPH_USER"], Keyring: env["CEPH_KEYRING"],
		MonHosts: []string{"v1:" + hung, env["CEPH_MON_HOST"]}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	conn, err := ceph.Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("connect with a hung monitor first in mon_host: %v", err)
	}
	if _, err := conn.Blocklist(ctx); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	t.Logf("connected past a hung monitor in %.2fs", time.Since(start).Seconds())

	cfg.MonHosts = []string{"v1:" + hung}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	start = time.Now()
	if conn, err := ceph.Connect(ctx2, cfg); err == nil {
		conn.Close()
		t.Fatal("connected to a monitor that never answers")
	}
	if took := time.Since(start); took > 2500*time.Millisecond {
		t.Fatalf("Connect took %s with a 2 s context", took)
	}
}

// TestPacemakerFencesThroughFenceRBD: Pacemaker's fencer, asked to fence a target (named
// "victim", not a cluster node) by stonith_admin, runs fence_rbd, and the victim's qemu-io
// then fails to write. Unfencing ("on") is run directly: fence_rbd advertises on_target, and
// Pacemaker runs such an "on" only on the target node itself, which the victim is not
// (the three-node test covers automatic unfencing).
func TestPacemakerFencesThroughFenceRBD(t *testing.T) {
	loadLabEnv(t)
	if st := oneNodeStatus(); !st.Summary.DC.Present {
		t.Fatal("the lab's one-node cluster is not up")
	}
	bin := buildAgent(t, "cmd/fence_rbd")
	installFenceAgent(t, bin, "fence_rbd")
	v := newVictimNet(t)
	c := startFenceCeph(t, v)
	image := c.createImage(t)
	q := startQemuIO(t, v, c, image)
	if l := q.write(t, 0x21); !strings.Contains(l, "wrote 65536/65536") {
		t.Fatalf("write before fencing: %s", l)
	}
	opts := c.agentOptions(v, "")
	id := uniqueName("rbd-fence")
	createStonith(t, id, "fence_rbd", "hosts="+opts["hosts"], "pcmk_host_list=victim",
		"ceph_conf="+c.conf, "ceph_user=fence", "ceph_keyring="+c.fenceKeyring, "pools=rbd")

	code, out, took := stonithAdmin(t, "--fence", "victim", "--timeout", "60")
	if code != 0 {
		t.Fatalf("stonith_admin --fence victim: exit %d\n%s", code, out)
	}
	t.Logf("stonith_admin --fence victim through fence_rbd took %.0f ms", took.Seconds()*1000)
	if l := q.write(t, 0x22); !strings.Contains(l, "Cannot send after transport endpoint shutdown") {
		t.Fatalf("write after fencing: %s", l)
	}
	if _, hist, _ := stonithAdmin(t, "--history", "victim", "--output-as=xml"); !strings.Contains(hist, `action="off"`) ||
		!strings.Contains(hist, `status="success"`) {
		t.Fatalf("fencing history of victim:\n%s", hist)
	}
	if code, out, _ := runFenceAgent(t, bin, c.agentOptions(v, "on")); code != 0 {
		t.Fatalf("fence_rbd on: exit %d\n%s", code, out)
	}
	q2 := startQemuIO(t, v, c, image)
	if l := q2.write(t, 0x23); !strings.Contains(l, "wrote 65536/65536") {
		t.Fatalf("write after unfencing: %s", l)
	}
}

// startQemuIOCommand is startQemuIO for any command line that ends in qemu-io's arguments.
func startQemuIOCommand(t *testing.T, argv ...string) *qemuIO {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	q := &qemuIO{stdin: stdin, lines: make(chan string, 100), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			q.lines <- sc.Text()
		}
		close(q.lines)
	}()
	go func() { cmd.Wait(); pw.Close(); close(q.done) }()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-q.done:
		case <-time.After(5 * time.Second):
		}
		cancel()
		<-q.done
	})
	return q
}

// TestThreeNodeClusterFencesWithFenceRBD: the 3-node lab with a Ceph on the nodes' network
// (in the hub namespace). fence_rbd is fencing level 1 of every node (lab-fence, the power
// switch, level 2) with provides=unfencing. A qemu-io on node2 writes; stonith_admin --fence
// node2 from node1 goes through fence_rbd and the write fails with the blocklist error while
// node2 keeps running; node2 is restarted, rejoins, Pacemaker unfences it automatically (on
// node2 itself, from its still blocklisted address), and a new qemu-io on node2 writes.
func TestThreeNodeClusterFencesWithFenceRBD(t *testing.T) {
	lockPacemaker(t)
	loadLabEnv(t)
	bin := buildAgent(t, "cmd/fence_rbd")
	installFenceAgent(t, bin, "fence_rbd")
	if out, err := labScript(t, 3*time.Minute, "nodes.sh", "up", "3"); err != nil {
		t.Fatalf("nodes.sh up: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := labScript(t, 3*time.Minute, "nodes.sh", "down"); err != nil {
			t.Errorf("nodes.sh down: %v\n%s", err, out)
		}
	})
	nodes := filepath.Join(labDir(), "nodes.sh")
	onNode := func(i string, args ...string) (string, error) {
		out, err := exec.Command(nodes, append([]string{"exec", i}, args...)...).CombinedOutput()
		return string(out), err
	}
	mustOnNode := func(i string, args ...string) {
		t.Helper()
		if out, err := onNode(i, args...); err != nil {
			t.Fatalf("node%s: %s: %v\n%s", i, strings.Join(args, " "), err, out)
		}
	}

	// Ceph on the nodes' bridge: an address for the hub namespace, the cluster in it.
	const cephAddr = "10.77.0.250"
	if out, err := exec.Command("ip", "-n", "kvmha-hub", "addr", "replace", cephAddr+"/24", "dev", "br0").CombinedOutput(); err != nil {
		t.Fatalf("address for the hub: %v\n%s", err, out)
	}
	name := fmt.Sprintf("nodesceph-%d", os.Getpid())
	port := 13300
	if p, err := strconv.Atoi(os.Getenv("LAB_CEPH_PORT")); err == nil {
		port = p
	}
	c := startThrowawayCeph(t, name, "LAB_CEPH_NETNS=kvmha-hub", "LAB_CEPH_ADDR="+cephAddr,
		fmt.Sprintf("LAB_CEPH_PORT=%d", port+300))
	inHub := func(args ...string) {
		t.Helper()
		out, err := exec.Command("ip", append([]string{"netns", "exec", "kvmha-hub"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	c.fenceKeyring = filepath.Join(t.TempDir(), "ceph.client.fence.keyring")
	inHub("ceph", "-c", c.conf, "-k", c.adminKeyring, "auth", "get-or-create", "client.fence",
		"mon", fenceMonCaps, "osd", "profile rbd-read-only pool=rbd", "-o", c.fenceKeyring)
	os.Chmod(c.fenceKeyring, 0o600)
	image := uniqueName("fence3")
	target := fmt.Sprintf("rbd:rbd/%s:id=kvmha:conf=%s:keyring=%s", image, c.conf, c.userKeyring)
	inHub("qemu-img", "create", "-f", "raw", target, "16M")

	// fence_rbd as level 1 of every node, the power switch as level 2.
	mustOnNode("1", "pcs", "stonith", "create", "rbd-fence", "fence_rbd",
		"hosts=node1=10.77.0.1;node2=10.77.0.2;node3=10.77.0.3", "pcmk_host_list=node1 node2 node3",
		"ceph_conf="+c.conf, "ceph_user=fence", "ceph_keyring="+c.fenceKeyring, "pools=rbd",
		"meta", "provides=unfencing")
	for _, n := range []string{"node1", "node2", "node3"} {
		mustOnNode("1", "pcs", "stonith", "level", "add", "1", n, "rbd-fence")
		mustOnNode("1", "pcs", "stonith", "level", "add", "2", n, "lab-fence")
	}
	mustOnNode("1", "pcs", "resource", "create", "d1", "ocf:heartbeat:Dummy", "op", "monitor", "interval=10s")
	status := func(i string) *clusterStatus {
		out, err := onNode(i, "crm_mon", "-1", "--output-as=xml")
		if err != nil {
			return &clusterStatus{}
		}
		st, _ := parseStatus([]byte(out))
		return st
	}
	waitFor(t, 90*time.Second, "rbd-fence and d1 started", func() bool {
		st := status("1")
		return st.runningOn("rbd-fence") != "" && st.runningOn("d1") != ""
	})
	rbdStatus := func(from string) int {
		code, _, _ := runFenceCommand(t, []string{nodes, "exec", from, "/usr/sbin/fence_rbd"}, map[string]string{
			"action": "status", "port": "node2", "hosts": "node2=10.77.0.2", "ceph_conf": c.conf,
			"ceph_user": "fence", "ceph_keyring": c.fenceKeyring})
		return code
	}
	if code := rbdStatus("1"); code != 0 {
		t.Fatalf("node2 is not unfenced at start: fence_rbd status exit %d", code)
	}

	q := startQemuIOCommand(t, nodes, "exec", "2", "qemu-io", "-f", "raw", target)
	if l := q.write(t, 0x31); !strings.Contains(l, "wrote 65536/65536") {
		t.Fatalf("write from node2: %s", l)
	}
	start := time.Now()
	if out, err := onNode("1", "stonith_admin", "--fence", "node2", "--timeout", "60"); err != nil {
		t.Fatalf("stonith_admin --fence node2: %v\n%s", err, out)
	}
	t.Logf("stonith_admin --fence node2 (level 1: fence_rbd) took %.0f ms", time.Since(start).Seconds()*1000)
	if l := q.write(t, 0x32); !strings.Contains(l, "Cannot send after transport endpoint shutdown") {
		t.Fatalf("write from node2 after fencing: %s", l)
	}
	if code := rbdStatus("3"); code != 2 {
		t.Fatalf("fence_rbd status of node2 after fencing: exit %d", code)
	}
	history := func(action string) int { // successful fencing events of node2 with this action
		hist, _ := onNode("1", "stonith_admin", "--history", "node2", "--verbose", "--output-as=xml")
		n := 0
		for _, l := range strings.Split(hist, "\n") {
			if strings.Contains(l, `action="`+action+`"`) && strings.Contains(l, `status="success"`) {
				n++
			}
		}
		return n
	}
	unfencedBefore := history("on")
	if history("off") != 1 || unfencedBefore < 1 {
		t.Fatalf("history of node2: %d off, %d on (want 1 off, and the unfencing at start)", history("off"), unfencedBefore)
	}

	// node2 is alive but out of the cluster; restart it: it rejoins and is unfenced.
	rejoin := time.Now()
	for _, step := range [][]string{{"stop", "2"}, {"start", "2"}, {"wait-online"}} {
		if out, err := labScript(t, 2*time.Minute, "nodes.sh", step...); err != nil {
			t.Fatalf("nodes.sh %s: %v\n%s", strings.Join(step, " "), err, out)
		}
	}
	took := waitFor(t, 90*time.Second, "node2 unfenced", func() bool { return rbdStatus("1") == 0 })
	t.Logf("node2 unfenced %.2f s after it was restarted (%.2f s after wait-online)", time.Since(rejoin).Seconds(), took.Seconds())
	if history("on") <= unfencedBefore {
		t.Fatal("node2 was unfenced, but Pacemaker's history has no new unfencing")
	}
	q2 := startQemuIOCommand(t, nodes, "exec", "2", "qemu-io", "-f", "raw", target)
	if l := q2.write(t, 0x33); !strings.Contains(l, "wrote 65536/65536") {
		t.Fatalf("write from node2 after unfencing: %s", l)
	}
}
