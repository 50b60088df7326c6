package krbd

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Users is what keeps a block device busy.
type Users struct {
	Mounts  []Mount  // the disk or a partition is mounted
	Holders []string // devices stacked on it (dm-0, md127)
	Openers []Opener // processes with it open
}

// InUse reports whether anything uses the device.
func (u Users) InUse() bool {
	return len(u.Mounts) > 0 || len(u.Holders) > 0 || len(u.Openers) > 0
}

// String says who, for an exit reason: "mounted on /mnt/a; held by dm-0;
// open in qemu-system-x86 (pid 123)".
func (u Users) String() string {
	var parts []string
	if len(u.Mounts) > 0 {
		var mp []string
		for _, m := range u.Mounts {
			mp = append(mp, m.MountPoint)
		}
		parts = append(parts, "mounted on "+strings.Join(mp, ", "))
	}
	if len(u.Holders) > 0 {
		parts = append(parts, "held by "+strings.Join(u.Holders, ", "))
	}
	if len(u.Openers) > 0 {
		var op []string
		for i, o := range u.Openers {
			if i == 5 {
				op = append(op, fmt.Sprintf("and %d more", len(u.Openers)-5))
				break
			}
			op = append(op, o.String())
		}
		parts = append(parts, "open in "+strings.Join(op, ", "))
	}
	if len(parts) == 0 {
		return "not in use"
	}
	return strings.Join(parts, "; ")
}

// Opener is a process that has the device open.
type Opener struct {
	PID  int
	Comm string
}

func (o Opener) String() string { return fmt.Sprintf("%s (pid %d)", o.Comm, o.PID) }

// UsersOf finds what uses a disk: mounts, holders and, when scan is set,
// the processes with it open (a walk of every /proc/<pid>/fd, so only for
// stop). Processes in skip (the disk's own server) are left out.
func (t Tree) UsersOf(b BlockDevice, scan bool, skip ...int) (Users, error) {
	var u Users
	var err error
	if u.Mounts, err = t.MountsOf(b.Nums()); err != nil {
		return Users{}, err
	}
	if u.Holders, err = t.Holders(b); err != nil {
		return Users{}, err
	}
	if scan {
		if u.Openers, err = t.Openers(b, skip...); err != nil {
			return Users{}, err
		}
	}
	return u, nil
}

// Openers lists the processes with the disk or one of its partitions open,
// by their /proc/<pid>/fd links: the path the kernel shows for an open
// device node ("/dev/nbd0"), or failing that the device number of what
// the link leads to. Processes that exit meanwhile are skipped.
func (t Tree) Openers(b BlockDevice, skip ...int) ([]Opener, error) {
	paths := map[string]bool{"/dev/" + b.Name: true}
	nums := map[DevNum]bool{b.Num: true}
	for _, p := range b.Partitions {
		paths["/dev/"+p.Name] = true
		nums[p.Num] = true
	}
	names, err := listDir(t.Proc)
	if err != nil {
		return nil, err
	}
	var openers []Opener
next:
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid <= 0 {
			continue
		}
		for _, s := range skip {
			if s == pid {
				continue next
			}
		}
		fdDir := join(t.Proc, n, "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue // exited, or a kernel thread without fds
		}
		for _, fd := range fds {
			target, err := os.Readlink(join(fdDir, fd.Name()))
			if err != nil {
				continue
			}
			if !paths[target] {
				if !strings.HasPrefix(target, "/dev/") {
					// socket:[…], pipe:[…], files: never stat those (a
					// file on a hung network file system would block).
					continue
				}
				num, ok := rdev(join(fdDir, fd.Name()))
				if !ok || !nums[num] {
					continue
				}
			}
			comm, err := readAttr(join(t.Proc, n, "comm"))
			if err != nil {
				comm = "?"
			}
			openers = append(openers, Opener{PID: pid, Comm: comm})
			continue next
		}
	}
	return openers, nil
}
