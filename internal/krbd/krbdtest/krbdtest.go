// Package krbdtest emulates the kernel side of mapped RBD images in a
// temporary folder: the rbd bus with its control files, nbd devices, the
// processes serving them, mounts, holders and open files. Tests point a
// krbd.Tree at it; writes to add_single_major and remove_single_major go
// through Kernel.Control, which acts as the rbd driver does.
package krbdtest

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/kvmha/kvmha/internal/krbd"
)

// RBDMajor is the major the fake rbd driver gives its devices; NBDMajor is
// nbd's.
const (
	RBDMajor = 252
	NBDMajor = 43
)

// Kernel is a fake tree and the driver behind its control files.
type Kernel struct {
	Root string
	Tree krbd.Tree

	mu sync.Mutex
	// Requests are the texts written to add_single_major (keys included:
	// tests check what the kernel would get).
	Requests []string
	// Removes are the texts written to remove_single_major.
	Removes []string
	// MapErr, when set, is returned by the next map instead of mapping.
	MapErr error
	// Busy makes unmaps without force fail with EBUSY.
	Busy bool
	// Sizes gives an image's size by name (default 32 MiB).
	Sizes map[string]uint64
	// FeaturesOf gives an image's features by name (default 0x3d).
	FeaturesOf map[string]krbd.Features
	// OnMap is called with the new device after a map.
	OnMap func(krbd.Device)
	t     testing.TB
}

// New makes an empty fake tree: no rbd module, no nbd module, nothing
// mounted, no processes.
func New(t testing.TB) *Kernel {
	root := t.TempDir()
	k := &Kernel{Root: root, t: t, Sizes: map[string]uint64{}, FeaturesOf: map[string]krbd.Features{}}
	k.Tree = krbd.Tree{
		Sys:     filepath.Join(root, "sys"),
		Proc:    filepath.Join(root, "proc"),
		Dev:     filepath.Join(root, "dev"),
		Control: k.Control,
	}
	for _, d := range []string{"sys/block", "sys/module", "proc/self", "dev"} {
		k.mkdir(d)
	}
	k.write("proc/self/mountinfo", "")
	return k
}

// Path is a path inside the fake tree.
func (k *Kernel) Path(rel string) string { return filepath.Join(k.Root, rel) }

func (k *Kernel) mkdir(rel string) {
	if err := os.MkdirAll(k.Path(rel), 0o755); err != nil {
		k.t.Fatal(err)
	}
}

func (k *Kernel) write(rel, content string) {
	k.mkdir(filepath.Dir(rel))
	if err := os.WriteFile(k.Path(rel), []byte(content), 0o644); err != nil {
		k.t.Fatal(err)
	}
}

// Write creates or replaces a file of the tree (a sysfs attribute, a proc
// file) with content.
func (k *Kernel) Write(rel, content string) { k.write(rel, content) }

// Remove deletes a file or folder of the tree.
func (k *Kernel) Remove(rel string) {
	if err := os.RemoveAll(k.Path(rel)); err != nil {
		k.t.Fatal(err)
	}
}

// LoadRBD loads the fake rbd module with supported features mask.
func (k *Kernel) LoadRBD(supported krbd.Features) {
	k.mkdir("sys/bus/rbd/devices")
	for _, f := range []string{"add", "remove", "add_single_major", "remove_single_major"} {
		k.write("sys/bus/rbd/"+f, "")
	}
	k.write("sys/bus/rbd/supported_features", fmt.Sprintf("0x%x\n", uint64(supported)))
	k.mkdir("sys/module/rbd")
}

// LoadNBD loads the fake nbd module with n devices, none connected.
func (k *Kernel) LoadNBD(n int) {
	k.mkdir("sys/module/nbd")
	for i := 0; i < n; i++ {
		name := "nbd" + strconv.Itoa(i)
		k.writeBlock(name, krbd.DevNum{Major: NBDMajor, Minor: uint32(i * 32)}, 0)
	}
}

func (k *Kernel) writeBlock(name string, num krbd.DevNum, size uint64) {
	k.write("sys/block/"+name+"/dev", num.String()+"\n")
	k.write("sys/block/"+name+"/size", strconv.FormatUint(size/512, 10)+"\n")
	k.mkdir("sys/block/" + name + "/holders")
	k.write("dev/"+name, "fake device node "+num.String())
}

// Control is the fake driver behind add_single_major and remove_single_major.
func (k *Kernel) Control(path string, text []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch filepath.Base(path) {
	case "add_single_major", "add":
		k.Requests = append(k.Requests, string(text))
		if err := k.MapErr; err != nil {
			k.MapErr = nil
			return err
		}
		return k.add(string(text))
	case "remove_single_major", "remove":
		k.Removes = append(k.Removes, string(text))
		return k.remove(string(text))
	}
	return syscall.EINVAL
}

// add parses "<mons> <options> <pool> <image> <snap>" as the driver does.
func (k *Kernel) add(text string) error {
	f := strings.Fields(text)
	if len(f) != 5 {
		return syscall.EINVAL
	}
	opts := map[string]string{}
	for _, o := range strings.Split(f[1], ",") {
		key, v, _ := strings.Cut(o, "=")
		opts[key] = v
	}
	if opts["name"] == "" || opts["secret"] == "" {
		return syscall.EINVAL
	}
	id := 0
	for ; ; id++ {
		if _, err := os.Stat(k.Path("sys/bus/rbd/devices/" + strconv.Itoa(id))); os.IsNotExist(err) {
			break
		}
	}
	size, ok := k.Sizes[f[3]]
	if !ok {
		size = 32 << 20
	}
	feat, ok := k.FeaturesOf[f[3]]
	if !ok {
		feat = 0x3d
	}
	d := krbd.Device{ID: id, Spec: krbd.Spec{Pool: f[2], Namespace: opts["_pool_ns"], Image: f[3], Snap: f[4]},
		Features: feat, Size: size, Major: RBDMajor, Minor: uint32(id << 4),
		ClusterFSID: "c8ba5f36-6a89-4a79-81b1-7e03df5546ea", ClientAddr: "10.0.2.15:0/1234", ClientID: "client4162"}
	k.AddRBDDevice(d)
	d, err := k.Tree.ReadDevice(id)
	if err != nil {
		k.t.Fatal(err)
	}
	if k.OnMap != nil {
		k.OnMap(d)
	}
	return nil
}

// AddRBDDevice makes a mapped device as the driver shows it (Snap "" is
// written as "-").
func (k *Kernel) AddRBDDevice(d krbd.Device) {
	dir := "sys/bus/rbd/devices/" + strconv.Itoa(d.ID) + "/"
	snap := d.Spec.Snap
	if snap == "" {
		snap = "-"
	}
	for name, v := range map[string]string{
		"pool": d.Spec.Pool, "pool_ns": d.Spec.Namespace, "name": d.Spec.Image, "current_snap": snap,
		"features": fmt.Sprintf("0x%016x", uint64(d.Features)), "size": strconv.FormatUint(d.Size, 10),
		"major": strconv.Itoa(int(d.Major)), "minor": strconv.Itoa(int(d.Minor)),
		"cluster_fsid": d.ClusterFSID, "client_addr": d.ClientAddr, "client_id": d.ClientID,
		"image_id": "10226b8b4567", "config_info": "secret=NEVER-READ",
	} {
		k.write(dir+name, v+"\n")
	}
	k.writeBlock(d.Name(), krbd.DevNum{Major: d.Major, Minor: d.Minor}, d.Size)
}

// RemoveRBDDevice unmaps device id as someone other than the agent would (an admin's
// rbd unmap): not counted in Removes.
func (k *Kernel) RemoveRBDDevice(id int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.remove(strconv.Itoa(id) + " force"); err != nil {
		k.t.Fatalf("unmapping rbd%d: %v", id, err)
	}
}

func (k *Kernel) remove(text string) error {
	f := strings.Fields(text)
	if len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[1] != "force") {
		return syscall.EINVAL
	}
	id, err := strconv.Atoi(f[0])
	if err != nil {
		return syscall.EINVAL
	}
	dir := k.Path("sys/bus/rbd/devices/" + f[0])
	if _, err := os.Stat(dir); err != nil {
		return syscall.ENOENT
	}
	if k.Busy && len(f) == 1 {
		return syscall.EBUSY
	}
	_ = os.RemoveAll(dir)
	name := "rbd" + strconv.Itoa(id)
	_ = os.RemoveAll(k.Path("sys/block/" + name))
	_ = os.Remove(k.Path("dev/" + name))
	return nil
}

// Process is a fake process.
type Process struct {
	PID  int
	Comm string
	Args []string
	// Threads are extra thread ids: /proc/<tid> exists with Tgid PID.
	Threads []int
}

// AddProcess makes /proc/<pid> (cmdline, comm, status, fd/).
func (k *Kernel) AddProcess(p Process) {
	for _, id := range append([]int{p.PID}, p.Threads...) {
		dir := "proc/" + strconv.Itoa(id) + "/"
		k.write(dir+"cmdline", strings.Join(p.Args, "\x00")+"\x00")
		k.write(dir+"comm", p.Comm+"\n")
		k.write(dir+"status", fmt.Sprintf("Name:\t%s\nState:\tS (sleeping)\nTgid:\t%d\nPid:\t%d\n", p.Comm, p.PID, id))
		k.mkdir(dir + "fd")
	}
}

// KillProcess removes /proc/<pid>.
func (k *Kernel) KillProcess(pid int) { k.Remove("proc/" + strconv.Itoa(pid)) }

// Open makes process pid have path open (a /proc/<pid>/fd link).
func (k *Kernel) Open(pid int, path string) {
	dir := k.Path("proc/" + strconv.Itoa(pid) + "/fd")
	entries, _ := os.ReadDir(dir)
	if err := os.Symlink(path, filepath.Join(dir, strconv.Itoa(len(entries)+3))); err != nil {
		k.t.Fatal(err)
	}
}

// ConnectNBD connects nbd<index> to the server pid with size bytes.
func (k *Kernel) ConnectNBD(index, pid int, size uint64) {
	name := "nbd" + strconv.Itoa(index)
	k.write("sys/block/"+name+"/pid", strconv.Itoa(pid)+"\n")
	k.write("sys/block/"+name+"/size", strconv.FormatUint(size/512, 10)+"\n")
}

// DisconnectNBD disconnects nbd<index>.
func (k *Kernel) DisconnectNBD(index int) {
	name := "nbd" + strconv.Itoa(index)
	_ = os.Remove(k.Path("sys/block/" + name + "/pid"))
	k.write("sys/block/"+name+"/size", "0\n")
}

// FreeNBD returns the lowest nbd device without a server, or -1.
func (k *Kernel) FreeNBD() int {
	names, _ := os.ReadDir(k.Path("sys/block"))
	var idx []int
	for _, n := range names {
		if rest, ok := strings.CutPrefix(n.Name(), "nbd"); ok {
			if i, err := strconv.Atoi(rest); err == nil {
				idx = append(idx, i)
			}
		}
	}
	sort.Ints(idx)
	for _, i := range idx {
		if _, err := os.Stat(k.Path("sys/block/nbd" + strconv.Itoa(i) + "/pid")); os.IsNotExist(err) {
			return i
		}
	}
	return -1
}

// Mount adds a mount of device num on mountPoint to the mount table.
func (k *Kernel) Mount(num krbd.DevNum, mountPoint string) {
	data, _ := os.ReadFile(k.Path("proc/self/mountinfo"))
	n := strings.Count(string(data), "\n")
	line := fmt.Sprintf("%d 1 %s / %s rw,relatime shared:1 - ext4 /dev/x rw\n", 100+n, num, strings.ReplaceAll(mountPoint, " ", `\040`))
	k.write("proc/self/mountinfo", string(data)+line)
}

// Hold stacks holder (dm-0) on the block device name.
func (k *Kernel) Hold(name, holder string) {
	k.write("sys/block/"+name+"/holders/"+holder, "")
}

// CheckNode is krbd.CheckNode for the fake tree, whose device nodes are
// files naming their number.
func CheckNode(path string, want krbd.DevNum) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if got := strings.TrimPrefix(string(data), "fake device node "); got != want.String() {
		return fmt.Errorf("%s is device %s, not %s", path, got, want)
	}
	return nil
}
