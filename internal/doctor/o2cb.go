package doctor

import (
	"context"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/kvmha/kvmha/internal/o2cbconf"
)

// checkConfigfs: configfs is mounted, or can be (the o2cb agent mounts it
// at /sys/kernel/config).
func (d *Doctor) checkConfigfs(ctx context.Context) Result {
	if mnt := d.Root.mountPointOf("configfs"); mnt != "" {
		return pass("configfs mounted at %s", mnt)
	}
	m, err := d.modules(ctx)
	if err != nil {
		return fail("see the error", "cannot read the kernel's modules: %v", err)
	}
	rep := m.module(d.Root, "configfs", d.Root.hasFilesystem("configfs"))
	if !rep.state.ok() {
		return fail(m.moduleFix(d.Root, rep, ""), "configfs not mounted; kernel %s: %s", m.release, rep)
	}
	return pass("configfs not mounted yet (the o2cb agent mounts it); kernel %s: %s", m.release, rep)
}

// checkOCFS2: the modules O2CB and OCFS2 need, and ocfs2-tools.
func (d *Doctor) checkOCFS2(ctx context.Context) Result {
	m, err := d.modules(ctx)
	if err != nil {
		return fail("see the error", "cannot read the kernel's modules: %v", err)
	}
	plugins, _ := d.Root.readLine("/sys/fs/ocfs2/loaded_cluster_plugins")
	reps := []moduleReport{
		m.module(d.Root, "ocfs2", d.Root.hasFilesystem("ocfs2")),
		m.module(d.Root, "ocfs2_stack_o2cb", strings.Contains(" "+plugins+" ", " o2cb ")),
		m.module(d.Root, "ocfs2_dlmfs", d.Root.hasFilesystem("ocfs2_dlmfs")),
	}
	var found []string
	for _, rep := range reps {
		found = append(found, rep.String())
	}
	detail := fmt.Sprintf("kernel %s: %s", m.release, strings.Join(found, ", "))
	for _, rep := range reps {
		if !rep.state.ok() {
			return fail(m.moduleFix(d.Root, rep, ""), "%s", detail)
		}
	}
	var missing []string
	for _, tool := range []string{"mount.ocfs2", "mkfs.ocfs2"} {
		if d.Root.lookPath(tool) == "" {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return warn(d.Root.distribution().install("ocfs2-tools", "ocfs2-tools", "ocfs2-tools"),
			"%s; no %s (ocfs2-tools)", detail, strings.Join(missing, ", "))
	}
	return pass("%s; ocfs2-tools installed", detail)
}

// defaultO2CBPort is o2net's port when cluster.conf gives none.
const defaultO2CBPort = 7777

// o2cbPort is the port this node's o2net uses: its ip_port in
// /etc/ocfs2/cluster.conf (the node named like this host), else 7777.
func (r Root) o2cbPort() (int, string) {
	data, err := r.read("/etc/ocfs2/cluster.conf")
	if err != nil {
		return defaultO2CBPort, "the default"
	}
	f, err := o2cbconf.Parse(data)
	if err != nil {
		return defaultO2CBPort, "the default (cluster.conf: " + err.Error() + ")"
	}
	host := r.hostname()
	for _, name := range f.ClusterNames() {
		c, err := f.Cluster(name)
		if err != nil {
			continue
		}
		for _, n := range c.Nodes {
			if n.Name == host && n.Port > 0 {
				return n.Port, fmt.Sprintf("node %s of cluster %s in /etc/ocfs2/cluster.conf", host, name)
			}
		}
	}
	return defaultO2CBPort, "the default"
}

// o2netHolder names the local O2CB node registered in configfs that
// listens on port ("" when none): o2net's kernel socket.
func (r Root) o2netHolder(port int) string {
	const base = "/sys/kernel/config/cluster"
	clusters, _ := os.ReadDir(r.path(base))
	for _, c := range clusters {
		nodes, _ := os.ReadDir(r.path(path.Join(base, c.Name(), "node")))
		for _, n := range nodes {
			dir := path.Join(base, c.Name(), "node", n.Name())
			local, _ := r.readLine(path.Join(dir, "local"))
			p, _ := r.readLine(path.Join(dir, "ipv4_port"))
			if local == "1" && p == strconv.Itoa(port) {
				return fmt.Sprintf("o2net (node %s of O2CB cluster %s)", n.Name(), c.Name())
			}
		}
	}
	return ""
}

// checkO2CBPort: the port o2net listens on is free, or o2net has it.
func (d *Doctor) checkO2CBPort(context.Context) Result {
	port, from := d.Root.o2cbPort()
	ls := d.Root.listeners(uint16(port))
	if len(ls) == 0 {
		return pass("TCP %d (%s) is free", port, from)
	}
	if holder := d.Root.o2netHolder(port); holder != "" {
		return pass("TCP %d (%s) is held by %s", port, from, holder)
	}
	for _, l := range ls {
		if pid, comm := d.Root.socketOwner(l.inode); pid != 0 {
			return fail(fmt.Sprintf("stop %s (pid %d), or give the O2CB nodes another ip_port", comm, pid),
				"TCP %d (%s) is taken: %s listens on %s", port, from, comm, l.addr)
		}
	}
	return warn("find the kernel service on that port, or give the O2CB nodes another ip_port",
		"TCP %d (%s) is held by a socket of no process (a kernel service) on %s, not by this node's o2net", port, from, ls[0].addr)
}

// mountPointOf returns where a file system type is mounted ("" when not).
func (r Root) mountPointOf(fstype string) string {
	data, err := r.read("/proc/mounts")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[2] == fstype {
			return f[1]
		}
	}
	return ""
}

// hasFilesystem looks a type up in /proc/filesystems ("nodev\tconfigfs").
func (r Root) hasFilesystem(fstype string) bool {
	data, err := r.read("/proc/filesystems")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[len(f)-1] == fstype {
			return true
		}
	}
	return false
}
