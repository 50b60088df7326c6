package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The cluster under attack, configured as README.md ("A cluster of KVM hosts") recommends:
// HostHeartbeat as a clone on a RADOS object and a shared file, fencing by fence_rbd plus the
// power switch at level 1 and fence_kvmha at level 2, and the guests as VirtualDomain
// resources on RBD, live-migratable, with utilization. Everything below is what an operator
// would type, through pcs on a node.

// cephEnv is the nodes' Ceph, from the lab's env file (NODES_CEPH_*).
type cephEnv struct {
	conf, keyring, user, pool, adminKeyring string
}

func readLabEnv(state string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(state, "env"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export "), "=")
		if !ok {
			continue
		}
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = strings.ReplaceAll(v[1:len(v)-1], `'\''`, `'`)
		}
		env[k] = v
	}
	return env, sc.Err()
}

func nodesCeph(state string) (cephEnv, error) {
	env, err := readLabEnv(state)
	if err != nil {
		return cephEnv{}, err
	}
	c := cephEnv{conf: env["NODES_CEPH_CONF"], keyring: env["NODES_CEPH_KEYRING"], user: env["NODES_CEPH_USER"],
		pool: env["NODES_CEPH_POOL"], adminKeyring: env["NODES_CEPH_ADMIN_KEYRING"]}
	if c.conf == "" || c.keyring == "" || c.user == "" || c.pool == "" || c.adminKeyring == "" {
		return c, fmt.Errorf("no NODES_CEPH_* in %s/env: is the 3-node lab up with LAB_NODES_CEPH=1?", state)
	}
	return c, nil
}

// cluster is the configured cluster: its files and names.
type cluster struct {
	lab    *lab
	ceph   cephEnv
	dir    string   // $LAB_STATE/campaign: guest XMLs, keyrings, the shared heartbeat folder
	guests []string // vm1, vm2, ...
	log    func(format string, args ...any)
}

func (c *cluster) pcs(args ...string) error {
	out, err := c.lab.onNode(2*time.Minute, c.anyNode(), append([]string{"pcs"}, args...)...)
	if err != nil {
		return fmt.Errorf("pcs %s: %v %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// anyNode is a node that is on (node1 when all are).
func (c *cluster) anyNode() int {
	for i := 1; i <= c.lab.nodes; i++ {
		if c.lab.on(i) {
			return i
		}
	}
	return 1
}

func run(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, lastLines(string(out), 5))
	}
	return string(out), nil
}

func (c *cluster) cephCLI(args ...string) (string, error) {
	return run(time.Minute, "ceph", append([]string{"-c", c.ceph.conf, "-k", c.ceph.adminKeyring}, args...)...)
}

func (c *cluster) rbdCLI(args ...string) (string, error) {
	return run(time.Minute, "rbd", append([]string{"-c", c.ceph.conf, "-k", c.ceph.adminKeyring}, args...)...)
}

// configure sets up everything on a fresh 3-node lab. It runs inside the hub's network
// namespace, where the nodes' Ceph is.
func (c *cluster) configure(nguests int) error {
	if err := os.MkdirAll(filepath.Join(c.dir, "shared"), 0o755); err != nil {
		return err
	}
	// The consoles: each node's qemu writes its own file (libvirt's log folder is per node).
	for i := 1; i <= c.lab.nodes; i++ {
		if err := os.MkdirAll(filepath.Dir(c.lab.consoleFile(i, "x")), 0o755); err != nil {
			return err
		}
	}
	for k := 1; k <= nguests; k++ {
		c.guests = append(c.guests, fmt.Sprintf("vm%d", k))
	}

	c.log("fencing: fence_rbd + the power switch at level 1, fence_kvmha at level 2")
	fenceKeyring := filepath.Join(c.dir, "ceph.client.fence.keyring")
	caps := `allow r, allow command "osd blocklist", allow command "config-key get" with key prefix kvmha/fence_rbd/, ` +
		`allow command "config-key set" with key prefix kvmha/fence_rbd/, allow command "config-key rm" with key prefix kvmha/fence_rbd/`
	if _, err := c.cephCLI("auth", "get-or-create", "client.fence", "mon", caps, "osd", "profile rbd-read-only pool="+c.ceph.pool, "-o", fenceKeyring); err != nil {
		return err
	}
	if err := os.Chmod(fenceKeyring, 0o600); err != nil {
		return err
	}
	backends := fmt.Sprintf("rados://%s/kvmha-hb,file://%s", c.ceph.pool, filepath.Join(c.dir, "shared"))
	cephOpts := []string{"ceph_conf=" + c.ceph.conf, "ceph_user=" + c.ceph.user, "ceph_keyring=" + c.ceph.keyring}
	hosts := make([]string, 0, c.lab.nodes)
	names := make([]string, 0, c.lab.nodes)
	for i := 1; i <= c.lab.nodes; i++ {
		hosts = append(hosts, nodeName(i)+"="+nodeAddr(i))
		names = append(names, nodeName(i))
	}
	steps := [][]string{
		{"property", "set", "stonith-action=off", "placement-strategy=balanced", "cluster-recheck-interval=30s"},
		// The lab's nodes share one kernel, so each sees the load of all three and of every
		// guest: Pacemaker would throttle every node to one action at a time ("High CPU load
		// detected") and start a dead node's guests one after another. A real host sees its
		// own load; this lab-only setting keeps the lab's failover comparable.
		{"property", "set", "load-threshold=1000%"},
		append([]string{"stonith", "create", "rbd-fence", "fence_rbd", "hosts=" + strings.Join(hosts, ";"),
			"pcmk_host_list=" + strings.Join(names, " "), "ceph_conf=" + c.ceph.conf, "ceph_user=fence",
			"ceph_keyring=" + fenceKeyring, "pools=" + c.ceph.pool}, "meta", "provides=unfencing", "failure-timeout=60s"),
		append(append([]string{"stonith", "create", "kvmha-fence", "fence_kvmha", "backends=" + backends,
			"pcmk_host_list=" + strings.Join(names, " ")}, cephOpts...), "pcmk_off_timeout=60s", "meta", "failure-timeout=60s"),
		// A device's monitor fails on a node cut from the storage (found by the campaign: the
		// failure stayed after the heal, for an operator to clean up): forget it after a minute.
		{"stonith", "meta", "lab-fence", "failure-timeout=60s"},
	}
	for i := 1; i <= c.lab.nodes; i++ {
		steps = append(steps,
			[]string{"stonith", "level", "add", "1", nodeName(i), "rbd-fence", "lab-fence"},
			[]string{"stonith", "level", "add", "2", nodeName(i), "kvmha-fence"},
			[]string{"node", "utilization", nodeName(i), "cpu=4", "hv_memory=1024", "host_memory=1024"})
	}
	selfFence, err := c.writeSelfFence()
	if err != nil {
		return err
	}
	steps = append(steps, append(append([]string{"resource", "create", "hb", "ocf:kvmha:HostHeartbeat",
		"backends=" + backends, "watchdog_device=file:" + filepath.Join(c.dir, "wd-%n"), "self_fence=exec:" + selfFence},
		cephOpts...), "op", "monitor", "interval=10s", "meta", "failure-timeout=60s", "clone", "interleave=true"))
	for _, s := range steps {
		if err := c.pcs(s...); err != nil {
			return err
		}
	}

	c.log("guests: %d RBD images, domain XMLs, VirtualDomain resources", nguests)
	for _, g := range c.guests {
		if err := c.addGuest(g); err != nil {
			return err
		}
	}
	return nil
}

// writeSelfFence is the HostHeartbeat's self_fence: ask the power switch to power this node
// off, as a host would ask its BMC.
func (c *cluster) writeSelfFence() (string, error) {
	sw := os.Getenv("LAB_SWITCH_DIR")
	if sw == "" {
		sw = "/var/lib/kvmha-lab/switch"
	}
	path := filepath.Join(c.dir, "selffence.sh")
	script := fmt.Sprintf("#!/bin/sh\nid=selffence-$1-$$\necho \"$2 $1\" > %s/req/$id.tmp && mv %s/req/$id.tmp %s/req/$id.req\n", sw, sw, sw)
	return path, os.WriteFile(path, []byte(script), 0o755)
}

func (c *cluster) guestXML(g string) string { return filepath.Join(c.dir, "guests", g+".xml") }

// addGuest creates guest g's image, domain XML and resource.
func (c *cluster) addGuest(g string) error {
	if _, err := c.rbdCLI("create", "--size", "16M", c.ceph.pool+"/"+g); err != nil && !strings.Contains(err.Error(), "exists") {
		return err
	}
	var uuid [16]byte
	_, _ = rand.Read(uuid[:])
	secret := fmt.Sprintf("%x-%x-%x-%x-%x", uuid[0:4], uuid[4:6], uuid[6:8], uuid[8:10], uuid[10:16])
	cache := filepath.Join(c.lab.root, "test", "lab", ".cache", "guest")
	if v := os.Getenv("LAB_CACHE"); v != "" {
		cache = filepath.Join(v, "guest")
	}
	// The lab's tiny guest with the writer's initramfs, its disk on RBD, and its console in
	// libvirt's log folder, which is each node's own (so two qemus of one guest on two nodes
	// write two files), appended to across boots.
	xml, err := c.lab.scriptOutput(time.Minute, "guest.sh", "domain", g, "--rbd", c.ceph.pool+"/"+g, "--secret-uuid", secret,
		"--ceph-conf", c.ceph.conf, "--ceph-user", c.ceph.user, "--initrd", filepath.Join(cache, "initrd-writer.img"),
		"--console", "/var/log/libvirt/qemu/"+g+".console", "--cmdline", "kvmha_writer="+g)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.guestXML(g)), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(c.guestXML(g), []byte(xml), 0o644); err != nil {
		return err
	}
	if err := c.pcs("resource", "create", g, "ocf:kvmha:VirtualDomain", "config="+c.guestXML(g),
		"hypervisor=qemu:///system", "migration_transport=tcp", "ceph_conf="+c.ceph.conf, "ceph_user="+c.ceph.user,
		"ceph_keyring="+c.ceph.keyring, "meta", "allow-migrate=true", "resource-stickiness=100", "failure-timeout=60s",
		"op", "monitor", "interval=10s", "timeout=30s", "op", "monitor", "interval=30s", "timeout=60s", "OCF_CHECK_LEVEL=20",
		// Shorter than failure-timeout (see README): Pacemaker counts that from an
		// operation's start, and forgets a failed migrate_to that ran longer at once.
		"op", "migrate_to", "timeout=50s", "op", "migrate_from", "timeout=50s"); err != nil {
		return err
	}
	// A preference for hosts whose storage works, not a ban of those whose storage fails
	// (see README): a ban stops every guest when all hosts lose their storage at once.
	return c.pcs("constraint", "location", g, "rule", "score=1000", "kvmha-storage", "eq", "1")
}
