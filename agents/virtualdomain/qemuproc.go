package virtualdomain

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// procQemu finds qemu processes in a proc file system (/proc), so that the
// agent can tell whether a domain runs when libvirtd does not answer.
type procQemu struct {
	root string // "/proc"
}

// Find returns the pids of live (not zombie) qemu processes running the
// domain: the one whose -uuid is uuid, or, when uuid is unknown, whose
// -name is name.
func (p procQemu) Find(name, uuid string) ([]int, error) {
	var pids []int
	err := eachProcess(p.root, func(pid int, args []string) {
		if p.runs(pid, args, name, uuid) {
			pids = append(pids, pid)
		}
	})
	return pids, err
}

// runs reports whether pid, running args, is a live qemu of the domain.
// Processes that vanish while being read simply do not match.
func (p procQemu) runs(pid int, args []string, name, uuid string) bool {
	if !strings.HasPrefix(filepath.Base(args[0]), "qemu") {
		return false
	}
	if !qemuArgsMatch(args, name, uuid) {
		return false
	}
	stat, err := os.ReadFile(filepath.Join(p.root, strconv.Itoa(pid), "stat"))
	return err == nil && !isZombie(stat)
}

// eachProcess calls fn with the pid and command line of each process in the
// proc file system at root, for the agent's searches for qemu and rbd-nbd
// processes by their arguments. Kernel threads (no command line) and
// processes that end while being read are passed over.
func eachProcess(root string, fn func(pid int, args []string)) error {
	entries, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(root, e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		fn(pid, strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"))
	}
	return nil
}

// qemuArgsMatch checks a qemu command line for the domain: by -uuid when the
// domain's UUID is known (libvirt always passes it), else by -name, which
// libvirt writes as "guest=NAME,debug-threads=on" with commas in NAME
// doubled (older versions wrote plain NAME).
func qemuArgsMatch(args []string, name, uuid string) bool {
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "-uuid":
			if uuid != "" {
				return strings.EqualFold(args[i+1], uuid)
			}
		case "-name":
			if uuid == "" && qemuGuestName(args[i+1]) == name {
				return true
			}
		}
	}
	return false
}

// qemuGuestName extracts the guest name from a -name argument.
func qemuGuestName(arg string) string {
	var first strings.Builder
	for i := 0; i < len(arg); i++ {
		if arg[i] == ',' {
			if i+1 < len(arg) && arg[i+1] == ',' {
				first.WriteByte(',')
				i++
				continue
			}
			break
		}
		first.WriteByte(arg[i])
	}
	if v, ok := strings.CutPrefix(first.String(), "guest="); ok {
		return v
	}
	return first.String()
}

// isZombie reads the state field of /proc/PID/stat ("pid (comm) S ...");
// comm may contain spaces and parentheses, so the state follows the last ')'.
func isZombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return true
	}
	return stat[i+2] == 'Z' || stat[i+2] == 'X'
}

// Terminate signals pid, which Find returned; it fails with
// os.ErrProcessDone when the process is gone.
func (p procQemu) Terminate(pid int, kill bool) error {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	err := syscall.Kill(pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	if err != nil {
		return fmt.Errorf("kill %d: %w", pid, err)
	}
	return nil
}
