//go:build lab

package integration

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rbd"

	"github.com/kvmha/kvmha/internal/doctor"
	"github.com/kvmha/kvmha/internal/heartbeat"
)

// Lab tests of `kvmha doctor`: each check passes on the lab's good setup and fails with its
// fix on a broken one - a keyring with a wrong key, a stopped monitor (a throwaway Ceph), a
// heartbeat daemon under another name than Pacemaker's, a module blocked in the kernel VM,
// an image with a feature the VM's kernel lacks.
//
// LAB_DOCTOR_CEPH_PORT (default 13900) is the port of the throwaway Ceph (its daemons and the
// kernel VM's redirect use the hundred ports from there), clear of the standard lab's 13300,
// nodes.sh's 13400 and fence_rbd's.

// doctorRun is one run of kvmha doctor --output json.
type doctorRun struct {
	code    int
	results map[string]doctor.Result
	out     string
	took    time.Duration
}

// runDoctor runs the kvmha binary's doctor with args and --output json.
func runDoctor(t *testing.T, kvmha string, args ...string) doctorRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kvmha, append([]string{"doctor", "--output", "json"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	r := doctorRun{out: string(out), took: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("kvmha doctor: %v", err)
	}
	r.results = parseDoctorJSON(t, string(out))
	if r.code > 1 {
		t.Fatalf("kvmha doctor %s: exit %d: %s%s", strings.Join(args, " "), r.code, out, stderr.String())
	}
	return r
}

func parseDoctorJSON(t *testing.T, out string) map[string]doctor.Result {
	t.Helper()
	var list []doctor.Result
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("doctor's JSON: %v\n%s", err, out)
	}
	m := map[string]doctor.Result{}
	for _, r := range list {
		m[r.Check] = r
	}
	return m
}

// want checks one result: its status, and texts its detail and fix contain.
func (r doctorRun) want(t *testing.T, check string, status doctor.Status, detail, fix string) {
	t.Helper()
	res, ok := r.results[check]
	switch {
	case !ok:
		t.Errorf("%s: no result in\n%s", check, r.out)
	case res.Status != status || !strings.Contains(res.Detail, detail) || !strings.Contains(res.Fix, fix):
		t.Errorf("%s: %s %q (fix %q); want %s with %q (fix with %q)", check, res.Status, res.Detail, res.Fix, status, detail, fix)
	case (status == doctor.Fail || status == doctor.Warn) && res.Fix == "":
		t.Errorf("%s: %s without a fix", check, status)
	default:
		t.Logf("%s: %s: %s", check, res.Status, res.Detail)
	}
}

// labCephArgs are doctor's flags for the lab's Ceph and libvirtd.
func labCephArgs(env labEnv, keyring string) []string {
	return []string{"--ceph-conf", env["CEPH_CONF"], "--ceph-user", env["CEPH_USER"], "--ceph-keyring", keyring,
		"--pools", env["CEPH_POOL"], "--libvirt-uri", env["LIBVIRT_URI"]}
}

// TestDoctorOnTheLab: on the standard lab every qemu, Ceph and clock check passes, libvirt passes
// or, where libvirt offers no KVM, warns with its fix (exit 0 either way), and
// the whole run takes a fraction of a second (the figures are logged, not asserted).
func TestDoctorOnTheLab(t *testing.T) {
	env := loadLabEnv(t)
	kvmha := buildAgent(t, "cmd/kvmha")
	args := append(labCephArgs(env, env["CEPH_KEYRING"]), "--check", "libvirt,qemu,ceph,clock")
	r := runDoctor(t, kvmha, args...)
	for _, c := range []string{"qemu-rbd", "qemu-img-rbd", "ceph-mon", "cephx", "clock"} {
		r.want(t, c, doctor.Pass, "", "")
	}
	// Whether libvirt offers KVM depends on the machine (some of the kind have no /dev/kvm):
	// ask libvirt itself, independently of the doctor's code, which verdict is right.
	if labOffersKVM(t, env["LIBVIRT_URI"]) {
		r.want(t, "libvirt", doctor.Pass, "", "")
	} else {
		r.want(t, "libvirt", doctor.Warn, "no KVM, guests would be emulated (TCG)", "/dev/kvm")
	}
	r.want(t, "ceph-mon", doctor.Pass, "127.0.0.1:13301 (msgr1)", "")
	if r.code != 0 {
		t.Errorf("exit %d on a good setup", r.code)
	}
	// Wall time of the whole command (process start, librados load, every check), five runs.
	var took []time.Duration
	for range 5 {
		took = append(took, runDoctor(t, kvmha, args...).took)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("kvmha doctor --check libvirt,qemu,ceph,clock on the lab: min %v, median %v, max %v",
		took[0].Round(time.Millisecond), took[2].Round(time.Millisecond), took[4].Round(time.Millisecond))
}

// TestDoctorWrongKey: a keyring with another key for the lab's user fails cephx, with the
// command that fetches the right one; the clock, which needs a session, points at cephx.
func TestDoctorWrongKey(t *testing.T) {
	env := loadLabEnv(t)
	kvmha := buildAgent(t, "cmd/kvmha")
	keyring := filepath.Join(t.TempDir(), "wrong.keyring")
	if err := os.WriteFile(keyring, []byte("[client."+env["CEPH_USER"]+"]\n\tkey = "+randomCephKey(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runDoctor(t, kvmha, append(labCephArgs(env, keyring), "--check", "ceph,clock")...)
	r.want(t, "ceph-mon", doctor.Pass, "", "")
	r.want(t, "cephx", doctor.Fail, "client."+env["CEPH_USER"]+" cannot authenticate with "+keyring+": wrong key",
		"ceph auth get client."+env["CEPH_USER"]+" -o "+keyring)
	r.want(t, "clock", doctor.Skip, "(see cephx)", "")
	if r.code != 1 {
		t.Errorf("exit %d with a wrong key", r.code)
	}
}

// labOffersKVM reports whether the lab's libvirtd lists a kvm domain type in its capabilities
// (virsh here: the test must not share the code it checks).
func labOffersKVM(t *testing.T, uri string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "virsh", "-c", uri, "capabilities").Output()
	if err != nil {
		t.Fatalf("virsh capabilities: %v", err)
	}
	return strings.Contains(string(out), "<domain type='kvm'")
}

// randomCephKey makes a well-formed cephx key (type 1, a creation time, 16 random bytes)
// that no user has.
func randomCephKey(t *testing.T) string {
	t.Helper()
	secret := make([]byte, 16)
	f, err := os.Open("/dev/urandom")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Read(secret); err != nil {
		t.Fatal(err)
	}
	b := binary.LittleEndian.AppendUint16(nil, 1)
	b = binary.LittleEndian.AppendUint32(b, uint32(time.Now().Unix()))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint16(b, 16)
	return base64.StdEncoding.EncodeToString(append(b, secret...))
}

// TestDoctorNodeName: node-name passes for a heartbeat daemon configured as node1 (the
// one-node cluster's name, from crm_node -n) whose record is on its file:// backend, and fails
// with the fix for a daemon configured as another name. It only reads the standard lab's
// one-node cluster, so it does not take the Pacemaker lock.
func TestDoctorNodeName(t *testing.T) {
	kvmha := buildAgent(t, "cmd/kvmha")
	out, err := exec.Command("crm_node", "-n").Output()
	if err != nil || strings.TrimSpace(string(out)) != "node1" {
		t.Fatalf("the lab's one-node cluster does not answer as node1: %q %v", out, err)
	}
	config := func(node string) *heartbeat.Config {
		dir := t.TempDir()
		shared := filepath.Join(dir, "shared")
		os.Mkdir(shared, 0o755)
		// No storage attribute: the test must not touch the cluster's node attributes.
		return &heartbeat.Config{Node: node, Backends: []string{"file://" + shared},
			Interval: heartbeat.Duration(200 * time.Millisecond), Timeout: heartbeat.Duration(time.Second),
			WatchdogDevice: "file:" + dir + "/wd-%n", WatchdogTimeout: heartbeat.Duration(time.Second),
			SelfFence: "exec:/bin/true", StateDir: filepath.Join(dir, "run")}
	}
	right := startHeartbeat(t, kvmha, config("node1"))
	r := runDoctor(t, kvmha, "--check", "node-name", "--heartbeat-state-dir", right.cfg.StateDir)
	r.want(t, "node-name", doctor.Pass, "Pacemaker's node1 is the heartbeat daemon's name; its record is on "+right.cfg.Backends[0], "")
	if r.code != 0 {
		t.Errorf("exit %d", r.code)
	}

	wrong := startHeartbeat(t, kvmha, config("vm-wrong"))
	r = runDoctor(t, kvmha, "--check", "node-name", "--heartbeat-state-dir", wrong.cfg.StateDir)
	r.want(t, "node-name", doctor.Fail, "Pacemaker calls this node node1, but the heartbeat daemon", "restart the HostHeartbeat resource")
	r.want(t, "node-name", doctor.Fail, "writes its record as vm-wrong", "hostnamectl set-hostname node1")
	if r.code != 1 {
		t.Errorf("exit %d", r.code)
	}

	r = runDoctor(t, kvmha, "--check", "node-name", "--heartbeat-state-dir", t.TempDir())
	r.want(t, "node-name", doctor.Skip, "no heartbeat daemon configured here", "")
}

// TestDoctorThrowawayCeph uses a Ceph of its own: the kernel VM reads its images (one
// namespace with images the kernel maps, one with a journaling image it cannot), then its
// monitor is stopped and ceph-mon fails naming each address.
func TestDoctorThrowawayCeph(t *testing.T) {
	kvmha := buildAgent(t, "cmd/kvmha")
	port := 13900
	if p, err := strconv.Atoi(os.Getenv("LAB_DOCTOR_CEPH_PORT")); err == nil {
		port = p
	}
	name := fmt.Sprintf("doctor-%d", os.Getpid())
	c := startThrowawayCeph(t, name, fmt.Sprintf("LAB_CEPH_PORT=%d", port))
	conf, keyring := c.conf, c.userKeyring

	admin := c.connect(t, "admin", c.adminKeyring)
	ioctx, err := admin.OpenIOContext("rbd")
	if err != nil {
		t.Fatal(err)
	}
	defer ioctx.Destroy()
	images := map[string]string{}
	for ns, features := range map[string]uint64{
		"good": rbd.FeatureLayering | rbd.FeatureExclusiveLock | rbd.FeatureObjectMap | rbd.FeatureFastDiff | rbd.FeatureDeepFlatten,
		"bad":  rbd.FeatureLayering | rbd.FeatureExclusiveLock | rbd.FeatureJournaling,
	} {
		if err := rbd.NamespaceCreate(ioctx, ns); err != nil {
			t.Fatalf("namespace %s: %v", ns, err)
		}
		ioctx.SetNamespace(ns)
		opts := rbd.NewRbdImageOptions()
		opts.SetUint64(rbd.ImageOptionFeatures, features)
		images[ns] = uniqueName("doctor-" + ns)
		if err := rbd.CreateImage(ioctx, images[ns], 16<<20, opts); err != nil {
			t.Fatalf("image in %s: %v", ns, err)
		}
		opts.Destroy()
		ioctx.SetNamespace("")
	}

	t.Run("kernel-vm", func(t *testing.T) {
		t.Setenv("LAB_VM_TIMEOUT", "300")
		t.Setenv("LAB_VM_CEPH_PORTS", fmt.Sprintf("%d-%d", port, port+99))
		script, _ := filepath.Abs(filepath.Join(labDir(), "vm", "doctor-kernel.sh"))
		start := time.Now()
		out, err := labScript(t, 10*time.Minute, "vm.sh", "run", "--mount", filepath.Dir(kvmha), "--",
			"env", "KVMHA="+kvmha, "CEPH_CONF="+conf, "CEPH_KEYRING="+keyring, "CEPH_USER=kvmha",
			"POOL_GOOD=rbd/good", "POOL_BAD=rbd/bad", "sh", script)
		t.Logf("kernel VM run took %.1fs:\n%s", time.Since(start).Seconds(), out)
		if err != nil {
			t.Fatalf("doctor-kernel.sh in the kernel VM: %v", err)
		}
		steps := vmDoctorSteps(t, out)
		kernelChecks := []string{"krbd", "nbd", "configfs", "ocfs2", "o2cb-port"}

		r := steps["unloaded"]
		for _, c := range kernelChecks {
			r.want(t, c, doctor.Pass, "", "")
		}
		r.want(t, "krbd", doctor.Pass, "rbd installed (not loaded)", "")
		r.want(t, "krbd-features", doctor.Skip, "modprobe rbd", "")

		r = steps["good"]
		for _, c := range kernelChecks {
			r.want(t, c, doctor.Pass, "", "")
		}
		r.want(t, "krbd", doctor.Pass, "rbd loaded", "")
		r.want(t, "krbd-features", doctor.Pass, "1 image in rbd/good: all fit", "")
		if r.code != 0 {
			t.Errorf("good: exit %d", r.code)
		}

		r = steps["features"]
		bad := "rbd/bad/" + images["bad"]
		r.want(t, "krbd-features", doctor.Warn, "1 of 2 images in rbd/good, rbd/bad use features it lacks: "+bad+" (journaling)",
			"rbd feature disable "+bad+" journaling")
		if strings.Contains(r.results["krbd-features"].Detail, images["good"]) {
			t.Errorf("the image the kernel maps is named: %s", r.results["krbd-features"].Detail)
		}

		r = steps["blocked"]
		r.want(t, "nbd", doctor.Fail, "blocked: /run/modprobe.d/kvmha-doctor-test.conf:1 makes 'modprobe nbd' run \"/bin/false\"",
			"remove the line at /run/modprobe.d/kvmha-doctor-test.conf:1")
		if r.code != 1 {
			t.Errorf("blocked: exit %d", r.code)
		}
	})

	t.Run("stopped-mon", func(t *testing.T) {
		if out, err := labScript(t, 2*time.Minute, "ceph.sh", "down", name); err != nil {
			t.Fatalf("ceph.sh down %s: %v\n%s", name, err, out)
		}
		r := runDoctor(t, kvmha, "--ceph-conf", conf, "--ceph-user", "kvmha", "--ceph-keyring", keyring, "--check", "ceph,clock")
		for _, a := range []string{fmt.Sprintf("127.0.0.1:%d (v2): connection refused", port), fmt.Sprintf("127.0.0.1:%d (v1): connection refused", port+1)} {
			r.want(t, "ceph-mon", doctor.Fail, a, a)
		}
		r.want(t, "ceph-mon", doctor.Fail, "2 of 2 monitor addresses unreachable", "start the monitors, or correct mon_host in "+conf)
		r.want(t, "cephx", doctor.Skip, "(see ceph-mon)", "")
		r.want(t, "clock", doctor.Skip, "(see ceph-mon)", "")
		if r.code != 1 {
			t.Errorf("exit %d with the monitor stopped", r.code)
		}
		t.Logf("doctor with the monitor stopped took %v", r.took.Round(time.Millisecond))
	})
}

var vmStep = regexp.MustCompile(`(?ms)^=== doctor (\w+)\n(.*?)^=== end (\w+) rc=(\d+) took=([0-9.]+)s$`)

// vmDoctorSteps reads the steps doctor-kernel.sh printed.
func vmDoctorSteps(t *testing.T, out string) map[string]doctorRun {
	t.Helper()
	steps := map[string]doctorRun{}
	for _, m := range vmStep.FindAllStringSubmatch(out, -1) {
		if m[1] != m[3] {
			t.Fatalf("step %s ends as %s", m[1], m[3])
		}
		code, _ := strconv.Atoi(m[4])
		secs, _ := strconv.ParseFloat(m[5], 64)
		steps[m[1]] = doctorRun{code: code, results: parseDoctorJSON(t, m[2]), out: m[2], took: time.Duration(secs * float64(time.Second))}
		t.Logf("VM step %s: exit %d in %ss (TCG)", m[1], code, m[5])
	}
	for _, s := range []string{"unloaded", "good", "features", "blocked"} {
		if _, ok := steps[s]; !ok {
			t.Fatalf("step %s missing from the VM's output", s)
		}
	}
	return steps
}
