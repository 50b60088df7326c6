package krbd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// NBDDevice is an nbd device that a server has connected: /sys/block/nbdN
// with a pid file.
type NBDDevice struct {
	Index int // N of nbdN
	// PID is what /sys/block/nbdN/pid says: the thread that connected the
	// device (for rbd-nbd in ioctl mode, the thread blocked in NBD_DO_IT).
	PID int
}

// Name is the block device's name: "nbd<index>".
func (d NBDDevice) Name() string { return "nbd" + strconv.Itoa(d.Index) }

// NBDDevices lists the connected nbd devices, in index order. Devices that
// disconnect while they are read are left out.
func (t Tree) NBDDevices() ([]NBDDevice, error) {
	names, err := listDir(join(t.Sys, "block"))
	if err != nil {
		return nil, err
	}
	var devs []NBDDevice
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, "nbd")
		if !ok {
			continue
		}
		idx, err := checkID(rest)
		if err != nil {
			continue // not an nbd disk (nbd0p1 is a partition, shown only under nbd0)
		}
		pid, err := readUint(join(t.Sys, "block", n, "pid"), 31)
		if errors.Is(err, os.ErrNotExist) {
			continue // not connected
		}
		if err != nil {
			return nil, err
		}
		if pid == 0 {
			return nil, fmt.Errorf("/sys/block/%s/pid: 0 is no process", n)
		}
		devs = append(devs, NBDDevice{Index: idx, PID: int(pid)})
	}
	sort.Slice(devs, func(i, j int) bool { return devs[i].Index < devs[j].Index })
	return devs, nil
}

// NBDServer is the process serving an nbd device.
type NBDServer struct {
	PID  int      // its thread group id (the process)
	Args []string // its command line
	// Spec is the image it maps; valid when RBDNBD is true.
	Spec   Spec
	RBDNBD bool // the process is an "rbd-nbd ... map <spec>"
}

// ReadNBDServer reads the process that connected an nbd device. An error
// that satisfies errors.Is(err, os.ErrNotExist) means it is gone.
func (t Tree) ReadNBDServer(d NBDDevice) (NBDServer, error) {
	dir := join(t.Proc, strconv.Itoa(d.PID))
	cmdline, err := readAttr(join(dir, "cmdline"))
	if err != nil {
		return NBDServer{}, err
	}
	status, err := readAttr(join(dir, "status"))
	if err != nil {
		return NBDServer{}, err
	}
	tgid, err := ParseTgid(status)
	if err != nil {
		return NBDServer{}, fmt.Errorf("/proc/%d/status: %w", d.PID, err)
	}
	s := NBDServer{PID: tgid, Args: ParseCmdline([]byte(cmdline))}
	s.Spec, s.RBDNBD = ParseRBDNBDArgs(s.Args)
	return s, nil
}

// NBDMapping is an nbd device and the rbd-nbd process that serves it.
type NBDMapping struct {
	Device NBDDevice
	Server NBDServer
}

// MappedNBD returns the nbd devices rbd-nbd serves spec on.
func (t Tree) MappedNBD(spec Spec) ([]NBDMapping, error) {
	devs, err := t.NBDDevices()
	if err != nil {
		return nil, err
	}
	var out []NBDMapping
	for _, d := range devs {
		s, err := t.ReadNBDServer(d)
		if vanished(err) {
			continue // disconnected meanwhile, or a server that died: it serves nothing
		}
		if err != nil {
			return nil, err
		}
		if s.RBDNBD && s.Spec == spec {
			out = append(out, NBDMapping{Device: d, Server: s})
		}
	}
	return out, nil
}

// ProcessAlive reports whether the process pid still exists (and is not a
// zombie: a zombie serves nothing).
func (t Tree) ProcessAlive(pid int) bool {
	status, err := readAttr(join(t.Proc, strconv.Itoa(pid), "status"))
	if err != nil {
		return !vanished(err)
	}
	state, _ := statusField(status, "State")
	return !strings.HasPrefix(state, "Z") && !strings.HasPrefix(state, "X")
}

// ParseCmdline splits /proc/<pid>/cmdline: arguments end in NUL bytes. A
// process that rewrote its command line may use blanks instead; such a
// line is split at blanks.
func ParseCmdline(data []byte) []string {
	s := string(data)
	if !strings.Contains(s, "\x00") {
		if f := strings.Fields(s); len(f) > 0 {
			return f
		}
		return nil
	}
	s = strings.TrimSuffix(s, "\x00")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}

// ParseTgid reads the Tgid line of /proc/<pid>/status.
func ParseTgid(status string) (int, error) {
	v, ok := statusField(status, "Tgid")
	if !ok {
		return 0, errors.New("no Tgid line")
	}
	n, err := strconv.ParseUint(v, 10, 31)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("the Tgid %q is not a process id", agentlog.Clip(v))
	}
	return int(n), nil
}

func statusField(status, name string) (string, bool) {
	for _, line := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && k == name {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// rbdNBDFlags are the rbd-nbd options that take no value; every other
// "--option" without "=" is followed by its value (Ceph's argument parser
// accepts "--name value" for every configuration option).
var rbdNBDFlags = map[string]bool{
	"--read-only": true, "--exclusive": true, "--quiesce": true, "--try-netlink": true,
	"--show-cookie": true, "--foreground": true, "-f": true, "--notrim": true,
	"--no-mon-config": true, "-d": true,
}

// rbdNBDDefaultPool is the pool of an image spec without one
// (rbd_default_pool).
const rbdNBDDefaultPool = "rbd"

// ParseRBDNBDArgs recognises "rbd-nbd [options] map [options] <spec>
// [options]" and returns the spec: pool/[namespace/]image[@snap], or
// image[@snap] in the default pool. It is the inverse of the command line
// the agent starts, and reads those the rbd CLI starts too.
func ParseRBDNBDArgs(args []string) (Spec, bool) {
	if len(args) < 3 || filepath.Base(args[0]) != "rbd-nbd" {
		return Spec{}, false
	}
	var positional []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && a != "-" {
			if !strings.Contains(a, "=") && !rbdNBDFlags[a] && (strings.HasPrefix(a, "--") || len(a) == 2) {
				i++ // its value
			}
			continue
		}
		positional = append(positional, a)
		if len(positional) == 2 {
			break
		}
	}
	if len(positional) != 2 || positional[0] != "map" {
		return Spec{}, false
	}
	return parseImageSpec(positional[1])
}

// parseImageSpec reads pool/[namespace/]image[@snap] or image[@snap].
func parseImageSpec(s string) (Spec, bool) {
	var spec Spec
	path, snap, hasSnap := strings.Cut(s, "@")
	if hasSnap {
		if snap == "" {
			return Spec{}, false
		}
		spec.Snap = snap
	}
	parts := strings.Split(path, "/")
	switch len(parts) {
	case 1:
		spec.Pool, spec.Image = rbdNBDDefaultPool, parts[0]
	case 2:
		spec.Pool, spec.Image = parts[0], parts[1]
	case 3:
		if parts[1] == "" {
			return Spec{}, false
		}
		spec.Pool, spec.Namespace, spec.Image = parts[0], parts[1], parts[2]
	default:
		return Spec{}, false
	}
	if spec.Check() != nil {
		return Spec{}, false
	}
	return spec, true
}
