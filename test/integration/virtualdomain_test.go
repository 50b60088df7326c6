//go:build lab

package integration

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rbd"

	"github.com/kvmha/kvmha/internal/libvirt"
)

// Where the lab tests install ocf:kvmha:VirtualDomain and its Ceph build, as make install does.
const (
	installedAgent = "/usr/lib/ocf/resource.d/kvmha/VirtualDomain"
)

var (
	installOnce sync.Once
	// builtAgent is the agent installOnce built (kept for the test process: a test that
	// purges the packages removes the installed copy, and later tests install it again).
	builtAgent   string
	buildFailure string
)

// installVirtualDomain builds the agent as make build does (one file: a static layer with its
// Ceph-linked twin embedded), once per test process, and installs it where Pacemaker and
// ocf-tester look whenever it is not there.
func installVirtualDomain(t *testing.T) {
	t.Helper()
	installOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kvmha-vd-build")
		if err != nil {
			buildFailure = err.Error()
			return
		}
		cmd := exec.Command("make", "-s", "virtualdomain", "BUILD="+dir)
		cmd.Dir = filepath.Join(labDir(), "..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildFailure = fmt.Sprintf("make virtualdomain: %v\n%s", err, out)
			return
		}
		builtAgent = filepath.Join(dir, "VirtualDomain")
		if out, err := exec.Command("install", "-D", "-m", "0755", builtAgent, installedAgent).CombinedOutput(); err != nil {
			buildFailure = fmt.Sprintf("install: %v: %s", err, out)
		}
	})
	if buildFailure != "" {
		t.Fatal(buildFailure)
	}
	if _, err := os.Stat(installedAgent); err == nil {
		return
	}
	if out, err := exec.Command("install", "-D", "-m", "0755", builtAgent, installedAgent).CombinedOutput(); err != nil {
		t.Fatalf("install again (a package purge removed it): %v: %s", err, out)
	}
}

// labDomain is a lab guest with an RBD disk: its image, libvirt secret and domain XML file.
type labDomain struct {
	name, image, secretUUID, config string
	params                          map[string]string // OCF parameters for the agent
}

// newLabDomain creates an RBD image and a domain XML whose disk authenticates through a libvirt
// secret. The agent creates the secret itself (ceph_user + ceph_keyring).
func newLabDomain(t *testing.T, env labEnv, prefix string) *labDomain {
	t.Helper()
	d := &labDomain{name: uniqueName(prefix)}
	d.image = d.name + "-disk"
	conn := connectCeph(t, env, false)
	ioctx, err := conn.OpenIOContext(env["CEPH_POOL"])
	if err != nil {
		t.Fatal(err)
	}
	if err := rbd.CreateImage(ioctx, d.image, 16<<20, rbd.NewRbdImageOptions()); err != nil {
		t.Fatal(err)
	}
	_, d.secretUUID = newUUID()
	xml, err := labScript(t, time.Minute, "guest.sh", "domain", d.name, "--rbd", env["CEPH_POOL"]+"/"+d.image,
		"--ceph-conf", env["CEPH_CONF"], "--secret-uuid", d.secretUUID)
	if err != nil {
		t.Fatalf("guest.sh domain: %v\n%s", err, xml)
	}
	d.config = filepath.Join(t.TempDir(), d.name+".xml")
	if err := os.WriteFile(d.config, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	d.params = map[string]string{
		"config": d.config, "hypervisor": env["LIBVIRT_URI"], "ceph_conf": env["CEPH_CONF"],
		"ceph_user": env["CEPH_USER"], "ceph_keyring": env["CEPH_KEYRING"],
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if c, err := libvirt.Dial(ctx, env["LIBVIRT_URI"]); err == nil {
			if dom, err := c.DomainByName(ctx, d.name); err == nil {
				c.Destroy(ctx, dom)
			}
			if s, err := c.SecretByUUID(ctx, d.secretUUID); err == nil {
				c.UndefineSecret(ctx, s)
			}
			c.Close()
		}
		waitFor(t, 15*time.Second, "image "+d.image+" to be released", func() bool {
			return rbd.RemoveImage(ioctx, d.image) == nil
		})
		ioctx.Destroy()
	})
	return d
}

// agentRun is one invocation of the installed agent.
type agentRun struct {
	code   int
	stderr string
	took   time.Duration
}

func (r agentRun) reason() string {
	i := strings.LastIndex(r.stderr, "ocf-exit-reason:")
	if i < 0 {
		return ""
	}
	line, _, _ := strings.Cut(r.stderr[i+len("ocf-exit-reason:"):], "\n")
	return line
}

// runAgent runs an action with the domain's parameters plus extra OCF variables.
func runAgent(t *testing.T, d *labDomain, action string, timeout time.Duration, extra ...string) agentRun {
	t.Helper()
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT=/usr/lib/ocf", "OCF_RESOURCE_INSTANCE=" + d.name,
		"HA_RSCTMP=" + filepath.Join(os.TempDir(), "kvmha-lab-rsctmp"),
		"OCF_RESKEY_CRM_meta_timeout=" + strconv.Itoa(int(timeout/time.Millisecond))}
	for k, v := range d.params {
		env = append(env, "OCF_RESKEY_"+k+"="+v)
	}
	env = append(env, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, installedAgent, action)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	r := agentRun{stderr: stderr.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", action, err)
	}
	t.Logf("%s: rc=%d in %v %s", action, r.code, r.took.Round(time.Millisecond), r.reason())
	return r
}

func expectAgent(t *testing.T, d *labDomain, action string, timeout time.Duration, want int, extra ...string) agentRun {
	t.Helper()
	r := runAgent(t, d, action, timeout, extra...)
	if r.code != want {
		t.Fatalf("%s: rc=%d, want %d\n%s", action, r.code, want, r.stderr)
	}
	if r.took > timeout {
		t.Fatalf("%s took %v, more than its timeout %v", action, r.took, timeout)
	}
	return r
}

// libvirtdPid reads the lab libvirtd's pid file, next to the socket named in the URI.
func libvirtdPid(t *testing.T, uri string) int {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(u.Query().Get("socket")), "libvirtd.pid"))
	if err != nil {
		t.Fatalf("libvirtd pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// stopLibvirtd SIGSTOPs libvirtd and returns the function that resumes it (also run at cleanup).
func stopLibvirtd(t *testing.T, uri string) (resume func()) {
	t.Helper()
	pid := libvirtdPid(t, uri)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	resume = func() { once.Do(func() { syscall.Kill(pid, syscall.SIGCONT) }) }
	t.Cleanup(resume)
	return resume
}

func consoleHas(env labEnv, name, s string) bool {
	b, _ := os.ReadFile(filepath.Join(env["LAB_STATE"], "consoles", name+".log"))
	return strings.Contains(string(b), s)
}

// TestLibvirtAdapterAgainstLibvirtd: internal/libvirt against the lab's libvirtd: connect,
// "not found" by error code, and the lookups fence_libvirt relies on.
func TestLibvirtAdapterAgainstLibvirtd(t *testing.T) {
	env := loadLabEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := libvirt.Dial(ctx, env["LIBVIRT_URI"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.DomainByName(ctx, "no-such-domain"); !errors.Is(err, libvirt.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if _, err := c.LookupDomain(ctx, "6f1c2a3e-0000-4000-8000-00000000ffff"); !errors.Is(err, libvirt.ErrNotFound) {
		t.Fatalf("by UUID: want ErrNotFound, got %v", err)
	}
	if _, err := c.ListDomains(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := libvirt.Dial(ctx, "qemu:///system?socket=/nonexistent/sock"); !errors.Is(err, libvirt.ErrUnreachable) {
		t.Fatalf("missing socket: %v", err)
	}
}

// TestVirtualDomainOCFTester: ocf-tester passes on the installed agent, against a real guest
// whose disk is an RBD image; the key reaches libvirt only through the secret API.
func TestVirtualDomainOCFTester(t *testing.T) {
	env := loadLabEnv(t)
	installVirtualDomain(t)
	d := newLabDomain(t, env, "vd-tester")
	args := []string{"-n", d.name}
	for k, v := range d.params {
		args = append(args, "-o", k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ocf-tester", append(args, installedAgent)...)
	cmd.Env = append(os.Environ(), "HA_RSCTMP="+t.TempDir())
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("ocf-tester (%v):\n%s", time.Since(start).Round(time.Second), out)
	if err != nil || !strings.Contains(string(out), "passed all tests") {
		t.Fatalf("ocf-tester failed: %v", err)
	}
	// meta-data as nobody, with no environment: no keyring is read.
	if out, err := exec.Command("su", "nobody", "-s", "/bin/sh", "-c", installedAgent+" meta-data >/dev/null").CombinedOutput(); err != nil {
		t.Fatalf("meta-data as nobody: %v %s", err, out)
	}
}

// TestVirtualDomainLifecycle: start boots the guest from RBD with the agent-made secret,
// monitor is fast, stop is graceful; both are idempotent.
func TestVirtualDomainLifecycle(t *testing.T) {
	env := loadLabEnv(t)
	installVirtualDomain(t)
	d := newLabDomain(t, env, "vd-life")
	expectAgent(t, d, "start", 60*time.Second, 0)
	waitFor(t, 60*time.Second, "guest READY", func() bool { return consoleHas(env, d.name, "READY") })
	if !consoleHas(env, d.name, "DISK: vda 16777216 read=ok") {
		t.Fatal("the guest does not see its RBD disk")
	}
	expectAgent(t, d, "start", 20*time.Second, 0)
	r := expectAgent(t, d, "monitor", 20*time.Second, 0, "OCF_RESKEY_CRM_meta_interval=10000")
	if r.took > 500*time.Millisecond {
		t.Errorf("monitor took %v", r.took)
	}
	expectAgent(t, d, "monitor", 20*time.Second, 0, "OCF_CHECK_LEVEL=20", "OCF_RESKEY_CRM_meta_interval=10000")
	expectAgent(t, d, "stop", 30*time.Second, 0)
	if !consoleHas(env, d.name, "power button") {
		t.Error("stop did not shut the guest down gracefully")
	}
	expectAgent(t, d, "stop", 20*time.Second, 0)
	expectAgent(t, d, "monitor", 20*time.Second, 7, "OCF_RESKEY_CRM_meta_interval=10000")
}

// TestVirtualDomainOperatorSecret: a domain XML whose disk authenticates through a libvirt
// secret the operator made works as is: without ceph_user the agent leaves the secret alone and
// checks the image as the disk's auth user, with the keyring given.
func TestVirtualDomainOperatorSecret(t *testing.T) {
	env := loadLabEnv(t)
	installVirtualDomain(t)
	d := newLabDomain(t, env, "vd-opsecret")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := libvirt.Dial(ctx, env["LIBVIRT_URI"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sec, err := c.DefineSecret(ctx, fmt.Sprintf(`<secret ephemeral='no' private='yes'><uuid>%s</uuid>`+
		`<usage type='ceph'><name>operator %s</name></usage></secret>`, d.secretUUID, d.name))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetSecretValue(ctx, sec, cephKey(t, env["CEPH_KEYRING"])); err != nil {
		t.Fatal(err)
	}
	delete(d.params, "ceph_user")
	expectAgent(t, d, "start", 60*time.Second, 0)
	waitFor(t, 60*time.Second, "guest READY", func() bool { return consoleHas(env, d.name, "READY") })
	if !consoleHas(env, d.name, "DISK: vda 16777216 read=ok") {
		t.Fatal("the guest does not see its RBD disk")
	}
	if got, err := c.SecretByUUID(ctx, d.secretUUID); err != nil || got.Usage != "operator "+d.name {
		t.Fatalf("the operator's secret changed: %+v %v", got, err)
	}
	expectAgent(t, d, "stop", 30*time.Second, 0)
}

// TestVirtualDomainRefusesImageHeldElsewhere: a client that holds the guest's image (here this
// test process, with the image open) makes start fail, naming the holder.
func TestVirtualDomainRefusesImageHeldElsewhere(t *testing.T) {
	env := loadLabEnv(t)
	installVirtualDomain(t)
	d := newLabDomain(t, env, "vd-held")
	conn := connectCeph(t, env, false)
	ioctx, err := conn.OpenIOContext(env["CEPH_POOL"])
	if err != nil {
		t.Fatal(err)
	}
	defer ioctx.Destroy()
	img, err := rbd.OpenImage(ioctx, d.image, rbd.NoSnapshot)
	if err != nil {
		t.Fatal(err)
	}
	id := conn.GetInstanceID()
	r := expectAgent(t, d, "start", 15*time.Second, 1)
	holder := fmt.Sprintf("held by client.%d", id)
	if !strings.Contains(r.reason(), holder) || !strings.Contains(r.reason(), env["CEPH_POOL"]+"/"+d.image) {
		t.Fatalf("reason %q does not name %s", r.reason(), holder)
	}
	expectAgent(t, d, "monitor", 20*time.Second, 7, "OCF_RESKEY_CRM_meta_interval=0")
	img.Close()
	expectAgent(t, d, "start", 60*time.Second, 0)
	waitFor(t, 60*time.Second, "guest READY", func() bool { return consoleHas(env, d.name, "READY") })
	expectAgent(t, d, "stop", 30*time.Second, 0)
}

// TestVirtualDomainLibvirtdStopped: with libvirtd SIGSTOPped, monitor, stop and start each
// return inside their timeout with a code that tells the truth.
func TestVirtualDomainLibvirtdStopped(t *testing.T) {
	env := loadLabEnv(t)
	installVirtualDomain(t)
	d := newLabDomain(t, env, "vd-sigstop")
	expectAgent(t, d, "start", 60*time.Second, 0)
	waitFor(t, 60*time.Second, "guest READY", func() bool { return consoleHas(env, d.name, "READY") })

	resume := stopLibvirtd(t, env["LIBVIRT_URI"])
	// The guest runs: its qemu process says so.
	expectAgent(t, d, "monitor", 10*time.Second, 0, "OCF_RESKEY_CRM_meta_interval=10000")
	// A start of a running guest cannot be confirmed without libvirtd: it fails in time.
	expectAgent(t, d, "start", 10*time.Second, 1)
	// stop terminates the qemu process itself near the deadline and succeeds once it is gone.
	expectAgent(t, d, "stop", 15*time.Second, 0)
	expectAgent(t, d, "monitor", 10*time.Second, 7, "OCF_RESKEY_CRM_meta_interval=10000")
	resume()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := libvirt.Dial(ctx, env["LIBVIRT_URI"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, 15*time.Second, "libvirtd to notice the guest is gone", func() bool {
		_, err := c.DomainByName(ctx, d.name)
		return errors.Is(err, libvirt.ErrNotFound)
	})
	expectAgent(t, d, "monitor", 10*time.Second, 7, "OCF_RESKEY_CRM_meta_interval=10000")
}

// lockPacemaker takes the machine-wide lock of the Pacemaker labs (fixed namespaces and
// /var/lib/pacemaker are shared by every session on this machine) until the test ends.
func lockPacemaker(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile("/tmp/kvmha-pcmk.lock", os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	waited := time.Now()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Logf("Pacemaker lab lock taken after %v", time.Since(waited).Round(time.Second))
	t.Cleanup(func() { f.Close() })
}

// qemuOf returns the command line of the host's qemu process running the named guest ("" if none).
func qemuOf(name string) string {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(b), "guest="+name+",") || !strings.Contains(string(b), "qemu-system") {
			continue
		}
		return strings.ReplaceAll(string(b), "\x00", " ")
	}
	return ""
}

// TestVirtualDomainThreeNodes: in the 3-node lab (a libvirtd per node, a Ceph the nodes reach),
// pcs creates ocf:kvmha:VirtualDomain; pcs resource move live-migrates the guest; a start of a
// guest on the same image elsewhere is refused, naming the holder on the other node; killing the
// node running the guest gets it fenced and the guest started on another node (after the dead
// qemu's watch on the image has timed out: fence_lab does not blocklist).
func TestVirtualDomainThreeNodes(t *testing.T) {
	loadLabEnv(t)
	installVirtualDomain(t)
	lockPacemaker(t)
	t.Setenv("LAB_NODES_LIBVIRT", "1")
	t.Setenv("LAB_NODES_CEPH", "1")
	start := time.Now()
	if out, err := labScript(t, 4*time.Minute, "nodes.sh", "up", "3"); err != nil {
		t.Fatalf("nodes.sh up: %v\n%s", err, out)
	}
	t.Logf("3 nodes with libvirtd and Ceph online in %.1fs", time.Since(start).Seconds())
	t.Cleanup(func() {
		if out, err := labScript(t, 3*time.Minute, "nodes.sh", "down"); err != nil {
			t.Errorf("nodes.sh down: %v\n%s", err, out)
		}
	})
	env := loadLabEnv(t) // now with the NODES_CEPH_* lines
	onNode := func(i string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, labDir()+"/nodes.sh", append([]string{"exec", i}, args...)...).CombinedOutput()
		return string(out), err
	}
	status := func(from string) *clusterStatus {
		out, err := onNode(from, "crm_mon", "-1", "--output-as=xml")
		if err != nil {
			return &clusterStatus{}
		}
		st, _ := parseStatus([]byte(out))
		return st
	}
	conf, keyring, user, pool := env["NODES_CEPH_CONF"], env["NODES_CEPH_KEYRING"], env["NODES_CEPH_USER"], env["NODES_CEPH_POOL"]
	if conf == "" || keyring == "" {
		t.Fatal("the lab env has no NODES_CEPH_CONF / NODES_CEPH_KEYRING (nodes.sh LAB_NODES_CEPH=1)")
	}

	name := uniqueName("vd3")
	image := pool + "/" + name
	if out, err := onNode("1", "rbd", "-c", conf, "--id", user, "--keyring", keyring, "create", image, "--size", "16M"); err != nil {
		t.Fatalf("rbd create: %v\n%s", err, out)
	}
	_, secret := newUUID()
	xml, err := labScript(t, time.Minute, "guest.sh", "domain", name, "--rbd", image, "--ceph-conf", conf, "--secret-uuid", secret)
	if err != nil {
		t.Fatalf("guest.sh domain: %v\n%s", err, xml)
	}
	config := filepath.Join(t.TempDir(), name+".xml")
	if err := os.WriteFile(config, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(config), 0o755)
	if out, err := onNode("1", "pcs", "resource", "create", "vm", "ocf:kvmha:VirtualDomain", "config="+config,
		"migration_transport=tcp", "ceph_conf="+conf, "ceph_user="+user, "ceph_keyring="+keyring,
		// Stickiness: pcs resource move refuses to move a resource it cannot tell will stay.
		"meta", "allow-migrate=true", "resource-stickiness=100", "op", "monitor", "interval=10s"); err != nil {
		t.Fatalf("pcs resource create: %v\n%s", err, out)
	}
	var first string
	took := waitFor(t, 120*time.Second, "vm started", func() bool { first = status("1").runningOn("vm"); return first != "" })
	waitFor(t, 60*time.Second, "guest READY", func() bool {
		b, _ := os.ReadFile(filepath.Join(env["LAB_STATE"], "consoles", name+".log"))
		return strings.Contains(string(b), "READY") && strings.Contains(string(b), "DISK: vda 16777216 read=ok")
	})
	t.Logf("vm started on %s %.1fs after pcs resource create", first, took.Seconds())

	// Live migration: the guest's qemu on the target was started for an incoming migration.
	target := "node2"
	if first == "node2" {
		target = "node3"
	}
	moved := time.Now()
	if out, err := onNode("1", "pcs", "resource", "move", "vm", target); err != nil {
		t.Fatalf("pcs resource move: %v\n%s", err, out)
	}
	waitFor(t, 90*time.Second, "vm running on "+target, func() bool { return status("1").runningOn("vm") == target })
	t.Logf("vm moved %s -> %s in %.1fs", first, target, time.Since(moved).Seconds())
	if cmd := qemuOf(name); !strings.Contains(cmd, "-incoming") {
		t.Fatalf("the guest on %s was not live-migrated (no -incoming): %s", target, cmd)
	}
	if out, err := onNode("1", "cibadmin", "--query", "--scope", "status"); err != nil ||
		!strings.Contains(out, `operation="migrate_to"`) || !strings.Contains(out, `operation="migrate_from"`) {
		t.Fatalf("no migrate_to/migrate_from in the CIB status: %v", err)
	}
	onNode("1", "pcs", "resource", "clear", "vm")

	// A second guest on the same image, started on a third node, is refused: the holder is named.
	third := map[string]string{"node1": "2", "node2": "3", "node3": "1"}[target]
	if third == strings.TrimPrefix(first, "node") {
		third = map[string]string{"1": "2", "2": "3", "3": "1"}[third]
	}
	other := strings.Replace(xml, "<name>"+name+"</name>", "<name>"+name+"-twin</name>", 1)
	otherConfig := filepath.Join(filepath.Dir(config), name+"-twin.xml")
	os.WriteFile(otherConfig, []byte(other), 0o644)
	out, err := onNode(third, "env", "OCF_ROOT=/usr/lib/ocf", "OCF_RESOURCE_INSTANCE=twin", "OCF_RESKEY_CRM_meta_timeout=15000",
		"OCF_RESKEY_config="+otherConfig, "OCF_RESKEY_ceph_conf="+conf, "OCF_RESKEY_ceph_user="+user,
		"OCF_RESKEY_ceph_keyring="+keyring, installedAgent, "start")
	targetIP := "10.77.0." + strings.TrimPrefix(target, "node")
	if err == nil || !strings.Contains(out, "held by client.") || !strings.Contains(out, "at "+targetIP+":0/") ||
		!strings.Contains(out, "another host") {
		t.Fatalf("twin start on node%s was not refused naming %s: %v\n%s", third, targetIP, err, out)
	}
	t.Logf("twin refused on node%s: %s", third, out[strings.LastIndex(out, "ocf-exit-reason:"):])

	// Kill the node running the guest: fenced, the guest runs elsewhere.
	victim := strings.TrimPrefix(target, "node")
	observer := map[string]string{"1": "2", "2": "3", "3": "1"}[victim]
	killed := time.Now()
	if out, err := labScript(t, time.Minute, "nodes.sh", "kill", victim); err != nil {
		t.Fatalf("nodes.sh kill %s: %v\n%s", victim, err, out)
	}
	took = waitFor(t, 90*time.Second, target+" fenced", func() bool {
		out, err := onNode(observer, "stonith_admin", "--history", target, "--output-as=xml")
		return err == nil && strings.Contains(out, `status="success"`)
	})
	t.Logf("%s fenced %.1fs after the kill", target, took.Seconds())
	var now string
	waitFor(t, 180*time.Second, "vm running elsewhere", func() bool {
		now = status(observer).runningOn("vm")
		return now != "" && now != target
	})
	t.Logf("vm running on %s %.1fs after the kill", now, time.Since(killed).Seconds())
	// The new qemu truncated the console: READY again means the guest booted there from RBD
	// (and, for the teardown, that it now answers the ACPI shutdown).
	waitFor(t, 60*time.Second, "guest READY on "+now, func() bool {
		b, _ := os.ReadFile(filepath.Join(env["LAB_STATE"], "consoles", name+".log"))
		return strings.Contains(string(b), "READY") && strings.Contains(string(b), "DISK: vda 16777216 read=ok")
	})
}
