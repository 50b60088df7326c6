// Command reaper runs a command as a child subreaper and reaps every orphan at once.
//
//	reaper CMD [ARG...]
//
// On the lab machines PID 1 reaps orphaned zombies only every ~2 s. libvirtd double-forks
// qemu and waits for a killed qemu with kill(pid, 0), which succeeds on a zombie, so every
// destroy or ACPI shutdown would take ~2 s longer. Under this reaper (prctl
// PR_SET_CHILD_SUBREAPER) the orphans become its children and are reaped as soon as they exit.
//
// SIGTERM, SIGINT and SIGHUP are forwarded to CMD. The reaper exits when no descendant is
// left, with CMD's exit status (128+signal when CMD was killed by a signal).
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: reaper CMD [ARG...]")
		os.Exit(2)
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "reaper: prctl(PR_SET_CHILD_SUBREAPER):", err)
		os.Exit(1)
	}
	// Subscribe before starting the child so no SIGCHLD can be missed.
	sigc := make(chan os.Signal, 32)
	signal.Notify(sigc, syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)

	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "reaper:", err)
		os.Exit(127)
	}
	child := cmd.Process.Pid
	childAlive := true
	rc := 0
	// A slow tick as a safety net: reaping never depends on signal delivery alone.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err == unix.EINTR {
				continue
			}
			if err == unix.ECHILD {
				os.Exit(rc)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "reaper: wait4:", err)
				os.Exit(1)
			}
			if pid <= 0 {
				break
			}
			if pid == child {
				childAlive = false
				switch {
				case ws.Exited():
					rc = ws.ExitStatus()
				case ws.Signaled():
					rc = 128 + int(ws.Signal())
				}
			}
		}
		select {
		case s := <-sigc:
			if s != syscall.SIGCHLD && childAlive {
				_ = unix.Kill(child, s.(syscall.Signal))
			}
		case <-tick.C:
		}
	}
}
