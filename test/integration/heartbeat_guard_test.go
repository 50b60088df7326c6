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

// TestHeartbeatStartGuard: the 3-node lab with a libvirtd per node and HostHeartbeat on a
// shared directory (which lists each node's running guests and their disks), and
// ocf:kvmha:VirtualDomain run by hand with heartbeat= that directory:
//   - a guest with a file disk in a shared directory, started by hand on node2 (virsh, not
//     Pacemaker), is in node2's record with its disk; the agent's start of the same domain on
//     node1 is refused, the exit reason naming node2;
//   - a second domain (another name and UUID) on the same file is refused on node3, naming
//     node2's guest and the disk;
//   - node2 killed: the start on node1 waits until node2's silence proves it dead (its
//     timeout + watchdog + 2 s), then starts the guest.
//
// The file backend alone: the guard's reads need no Ceph, and the shared directory stands for
// OCFS2 on a SAN (the lab has none).
func TestHeartbeatStartGuard(t *testing.T) {
	loadLabEnv(t)
	installVirtualDomain(t)
	lockPacemaker(t)
	hbBin, kvmha := buildAgent(t, "cmd/HostHeartbeat"), buildAgent(t, "cmd/kvmha")
	installFenceAgent(t, kvmha, "kvmha")
	if out, err := exec.Command("install", "-D", "-m", "0755", hbBin, "/usr/lib/ocf/resource.d/kvmha/HostHeartbeat").CombinedOutput(); err != nil {
		t.Fatalf("install HostHeartbeat: %v\n%s", err, out)
	}
	t.Setenv("LAB_NODES_LIBVIRT", "1")
	start := time.Now()
	if out, err := labScript(t, 4*time.Minute, "nodes.sh", "up", "3"); err != nil {
		t.Fatalf("nodes.sh up: %v\n%s", err, out)
	}
	t.Logf("3 nodes with libvirtd online in %.1f s", time.Since(start).Seconds())
	t.Cleanup(func() {
		if out, err := labScript(t, 3*time.Minute, "nodes.sh", "down"); err != nil {
			t.Errorf("nodes.sh down: %v\n%s", err, out)
		}
	})
	state := os.Getenv("LAB_STATE")
	if state == "" {
		state = filepath.Join(labDir(), ".state")
	}
	c := &hbCluster{t: t, dir: filepath.Join(state, uniqueName("hbguard"))}
	c.shared = filepath.Join(c.dir, "hb")
	disks := filepath.Join(c.dir, "disks")
	for _, d := range []string{c.shared, disks} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(c.dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(c.dir) })
	c.backends = "file://" + c.shared

	// The heartbeat on every node, listing the guests of the node's libvirtd. Its watchdog is
	// the stand-in file (nothing resets a node here): what the guard needs is the watchdog
	// the record announces.
	c.mustOnNode("1", "pcs", "resource", "create", "hb", "ocf:kvmha:HostHeartbeat", "backends="+c.backends,
		"watchdog_device=file:"+c.dir+"/wd-%n", "self_fence=exec:/bin/true", "libvirt_uri=qemu:///system",
		"op", "monitor", "interval=10s", "clone")
	waitFor(t, 90*time.Second, "heartbeat on 3 nodes", func() bool { return c.clonesRunning("1") == 3 })

	// The guest: the lab's tiny guest with a raw file disk in the shared directory.
	name := uniqueName("guard")
	img := filepath.Join(disks, name+".img")
	if err := os.WriteFile(img, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 16<<20); err != nil {
		t.Fatal(err)
	}
	xml, err := labScript(t, time.Minute, "guest.sh", "domain", name)
	if err != nil {
		t.Fatalf("guest.sh domain: %v\n%s", err, xml)
	}
	disk := fmt.Sprintf("<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/>"+
		"<source file='%s'/><target dev='vda' bus='virtio'/></disk></devices>", img)
	xml = strings.Replace(xml, "</devices>", disk, 1)
	config := filepath.Join(disks, name+".xml")
	if err := os.WriteFile(config, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	agent := func(node, instance, cfg string, timeout time.Duration) (string, time.Duration, error) {
		began := time.Now()
		out, err := c.onNode(node, "env", "OCF_ROOT=/usr/lib/ocf", "OCF_RESOURCE_INSTANCE="+instance,
			"OCF_RESKEY_CRM_meta_on_node=node"+node, fmt.Sprintf("OCF_RESKEY_CRM_meta_timeout=%d", timeout.Milliseconds()),
			"OCF_RESKEY_config="+cfg, "OCF_RESKEY_heartbeat="+c.backends, installedAgent, "start")
		return out, time.Since(began), err
	}
	reason := func(out string) string {
		if i := strings.LastIndex(out, "ocf-exit-reason:"); i >= 0 {
			return strings.TrimSpace(out[i+len("ocf-exit-reason:"):])
		}
		return ""
	}
	listed := func(node string) *heartbeat.Guest {
		r := c.record(node)
		if r == nil {
			return nil
		}
		for i, g := range r.Guests {
			if g.Name == name {
				return &r.Guests[i]
			}
		}
		return nil
	}

	// Started by hand on node2, behind Pacemaker's back.
	c.mustOnNode("2", "virsh", "-c", "qemu:///system", "create", config)
	took := waitFor(t, 30*time.Second, "the guest and its disk in node2's record", func() bool {
		g := listed("node2")
		return g != nil && len(g.Disks) == 1 && g.Disks[0].Source == img && !g.Disks[0].ReadOnly
	})
	t.Logf("node2's record lists %s and %s %.1f s after virsh create", name, img, took.Seconds())
	if out, err := c.onNode("1", "kvmha", "heartbeat", "status", "--guests"); err == nil {
		t.Logf("kvmha heartbeat status --guests on node1:\n%s", out)
	}

	out, took, err := agent("1", "guard1", config, 30*time.Second)
	if err == nil || !strings.HasPrefix(reason(out), "node2 runs domain "+name) {
		t.Fatalf("start on node1 while node2 runs the guest: %v after %s\n%s", err, took, out)
	}
	t.Logf("refused on node1 in %.1f s: %s", took.Seconds(), reason(out))

	// Another domain on the same file.
	twin := strings.Replace(xml, "<name>"+name+"</name>", "<name>"+name+"-twin</name>", 1)
	if i, j := strings.Index(twin, "<uuid>"), strings.Index(twin, "</uuid>"); i >= 0 && j > i {
		twin = twin[:i] + twin[j+len("</uuid>"):]
	}
	twinConfig := filepath.Join(disks, name+"-twin.xml")
	os.WriteFile(twinConfig, []byte(twin), 0o644)
	out, took, err = agent("3", "guard2", twinConfig, 30*time.Second)
	if err == nil || !strings.HasPrefix(reason(out), "node2 runs guest "+name+", writing to vda (file ") {
		t.Fatalf("start of a second domain on the same file on node3: %v after %s\n%s", err, took, out)
	}
	t.Logf("twin refused on node3 in %.1f s: %s", took.Seconds(), reason(out))

	// node2 dies with the guest: the start on node1 waits for the proof, then runs it.
	rec := c.record("node2")
	if rec == nil || rec.WatchdogMs == 0 {
		t.Fatalf("node2's record announces no watchdog: %+v", rec)
	}
	proof := rec.Timeout() + rec.Watchdog() + heartbeat.DefaultMargin
	if out, err := labScript(t, time.Minute, "nodes.sh", "kill", "2"); err != nil {
		t.Fatalf("nodes.sh kill 2: %v\n%s", err, out)
	}
	killed := time.Now()
	out, took, err = agent("1", "guard1", config, 90*time.Second)
	if err != nil || !strings.Contains(out, "is proven dead") {
		t.Fatalf("start on node1 after node2 died: %v after %s\n%s", err, took, out)
	}
	since := time.Since(killed)
	if since < proof-2*time.Second || since > proof+30*time.Second {
		t.Fatalf("started %.1f s after the kill; node2's silence proves it dead after %s", since.Seconds(), proof)
	}
	t.Logf("node2 killed: the guest started on node1 %.1f s later (proof after %s)", since.Seconds(), proof)
	c.mustOnNode("1", "virsh", "-c", "qemu:///system", "destroy", name)
	c.restart("2")
}
