package o2cb

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/ocf"
	"github.com/kvmha/kvmha/internal/ocf/ocftest"
)

// fakeHost is a machine in a temporary folder: /proc/mounts and
// /proc/filesystems, /sys/fs/ocfs2 and /sys/module, /lib/modules, /run, /etc,
// and configfs emulated by fakeConfigFS. Mount, modprobe and the resolver
// are recorded and act on those files.
type fakeHost struct {
	t    *testing.T
	dir  string
	deps deps
	cfs  *fakeConfigFS

	modprobes   [][]string
	modprobeErr error
	mountErr    map[string]error // by file system type
	unmounts    []string
	hosts       map[string]string // name resolution
	env         ocftest.Env       // the resource o2cb:0 on node1
}

const fakeRelease = "6.1.0-test-amd64"

func newFakeHost(t *testing.T) *fakeHost {
	t.Helper()
	dir := t.TempDir()
	h := &fakeHost{t: t, dir: dir, mountErr: map[string]error{}, hosts: map[string]string{}}
	for _, d := range []string{"proc", "sys/module", "config", "run", "etc/ocfs2", "etc/corosync", "dev", "block",
		"lib/modules/" + fakeRelease} {
		must(os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	h.write("proc/mounts", "sysfs /sys sysfs rw,nosuid 0 0\nproc /proc proc rw 0 0\n")
	h.write("proc/filesystems", "nodev\tsysfs\nnodev\tproc\n\text4\n")
	h.write("lib/modules/"+fakeRelease+"/modules.dep",
		"kernel/fs/configfs/configfs.ko:\nkernel/fs/ocfs2/ocfs2_stack_o2cb.ko: kernel/fs/ocfs2/ocfs2_stackglue.ko\n"+
			"kernel/fs/ocfs2/dlmfs/ocfs2_dlmfs.ko: kernel/fs/configfs/configfs.ko\n")
	h.cfs = newFakeConfigFS(filepath.Join(dir, "config"))
	h.env = ocftest.NewEnv(t, "o2cb:0", "o2cb").SetMeta("on_node", "node1").
		SetParam(pCluster, "lab").SetParam(pClusterConf, h.path("etc/ocfs2/cluster.conf")).
		SetParam(pCorosyncConf, h.path("etc/corosync/corosync.conf")).SetParam(pDLMFSDir, h.path("dlm"))
	h.deps = deps{
		configfsDir: filepath.Join(dir, "config"),
		configfs:    h.cfs,
		sysfsDir:    filepath.Join(dir, "sys"),
		procDir:     filepath.Join(dir, "proc"),
		modulesDir:  filepath.Join(dir, "lib/modules"),
		stateDir:    filepath.Join(dir, "run/kvmha"),
		devicesDir:  filepath.Join(dir, "dev"),
		blockDir:    filepath.Join(dir, "block"),
		mount:       h.mount,
		unmount:     h.unmount,
		modprobe:    h.modprobe,
		hostname:    func() (string, error) { return "node1.example", nil },
		release:     func() string { return fakeRelease },
		lookupIPv4: func(_ context.Context, host string) ([]netip.Addr, error) {
			if a, ok := h.hosts[host]; ok {
				return []netip.Addr{netip.MustParseAddr(a)}, nil
			}
			return nil, fmt.Errorf("lookup %s: no such host", host)
		},
		openDevice: func(path string, write bool) (*os.File, error) {
			if write {
				return os.OpenFile(path, os.O_RDWR, 0)
			}
			return os.Open(path)
		},
		sectorSize: func(*os.File) (int, error) { return 512, nil },
	}
	return h
}

func (h *fakeHost) path(p string) string { return filepath.Join(h.dir, p) }

// recordPath is the agent's record of the resource the harness runs, o2cb:0.
func (h *fakeHost) recordPath() string {
	return filepath.Join(h.env.RscTmp(), "kvmha-o2cb-o2cb:0.record")
}

func (h *fakeHost) write(p, data string) {
	h.t.Helper()
	must(os.MkdirAll(filepath.Dir(h.path(p)), 0o755))
	if err := os.WriteFile(h.path(p), []byte(data), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *fakeHost) read(p string) string {
	data, _ := os.ReadFile(h.path(p))
	return string(data)
}

// loadModules does what modprobe of the O2CB modules does to /proc and /sys,
// and makes configfs' "cluster" subsystem appear.
func (h *fakeHost) loadModules(names ...string) {
	for _, m := range names {
		switch m {
		case "configfs":
			h.appendLine("proc/filesystems", "nodev\tconfigfs")
		case "ocfs2_dlmfs":
			h.appendLine("proc/filesystems", "nodev\tocfs2_dlmfs")
		case "ocfs2_stack_o2cb":
			h.write("sys/fs/ocfs2/loaded_cluster_plugins", "o2cb\n")
			h.write("sys/fs/ocfs2/cluster_stack", "o2cb\n")
			must(os.MkdirAll(h.path("sys/module/ocfs2_nodemanager"), 0o755))
			must(os.MkdirAll(h.path("config/cluster"), 0o755))
		}
	}
}

func (h *fakeHost) appendLine(p, line string) {
	h.write(p, h.read(p)+line+"\n")
}

func (h *fakeHost) modprobe(_ context.Context, names ...string) error {
	h.modprobes = append(h.modprobes, names)
	if h.modprobeErr != nil {
		return h.modprobeErr
	}
	h.loadModules(names...)
	return nil
}

func (h *fakeHost) mount(source, target, fstype string) error {
	if err := h.mountErr[fstype]; err != nil {
		return err
	}
	if fstype == "ocfs2_dlmfs" {
		if _, err := os.Stat(target); err != nil {
			return err
		}
	}
	// the kernel's escapes: \ooo for backslash, blanks and newline
	esc := strings.NewReplacer("\\", "\\134", " ", "\\040", "\t", "\\011", "\n", "\\012")
	h.appendLine("proc/mounts", fmt.Sprintf("%s %s %s rw,relatime 0 0", esc.Replace(source), esc.Replace(target), esc.Replace(fstype)))
	return nil
}

// mountLine adds a mount as another tool would.
func (h *fakeHost) mountLine(source, target, fstype string) { must(h.mount(source, target, fstype)) }

func (h *fakeHost) unmount(target string) error {
	h.unmounts = append(h.unmounts, target)
	lines := strings.Split(strings.TrimSuffix(h.read("proc/mounts"), "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if f := strings.Fields(lines[i]); len(f) > 1 && unescapeMount(f[1]) == target {
			lines = slices.Delete(lines, i, i+1)
			h.write("proc/mounts", strings.Join(lines, "\n")+"\n")
			return nil
		}
	}
	return errors.New("not mounted")
}

// The lab's two-node layout.
const twoNodes = "cluster:\n\tname = lab\n\theartbeat_mode = local\n\tnode_count = 2\n\n" +
	"node:\n\tcluster = lab\n\tnumber = 1\n\tip_port = 7777\n\tip_address = 192.168.77.1\n\tname = node1\n\n" +
	"node:\n\tcluster = lab\n\tnumber = 2\n\tip_port = 7777\n\tip_address = 192.168.77.2\n\tname = node2\n\n"

// run invokes the agent in-process the way Pacemaker would, with the harness's
// environment changed by params (see ocftest.Env.For).
func (h *fakeHost) run(action string, params ...string) ocftest.Result {
	h.t.Helper()
	return ocftest.Run(newAgent(h.deps), action, h.env.For(action, params...))
}

// expect fails unless the invocation ended with code and its output contains every part.
func (h *fakeHost) expect(r ocftest.Result, code int, parts ...string) {
	h.t.Helper()
	r.Expect(h.t, ocf.ExitCode(code), parts...)
}
