package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// lab is the 3-node lab of test/lab (nodes.sh, ceph.sh, the power switch) as the campaign
// drives it: every action is one of the lab's scripts or a plain process signal, so what the
// campaign does to the cluster is what an operator (or a failing machine) could do.
type lab struct {
	root  string // the repository
	dir   string // test/lab
	state string // LAB_STATE
	nodes int
}

func newLab(root string, nodes int) *lab {
	state := os.Getenv("LAB_STATE")
	if state == "" {
		state = filepath.Join(root, "test", "lab", ".state")
	}
	return &lab{root: root, dir: filepath.Join(root, "test", "lab"), state: state, nodes: nodes}
}

func nodeName(i int) string { return fmt.Sprintf("node%d", i) }

// nodeAddr is node i's address on the lab's one network (cluster and storage traffic).
func nodeAddr(i int) string { return fmt.Sprintf("10.77.0.%d", i) }

// hubAddr is where the nodes' Ceph listens.
const hubAddr = "10.77.0.250"

// script runs one of the lab's scripts with a deadline; the output is returned whole.
func (l *lab) script(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(l.dir, name), args...)
	cmd.Env = append(os.Environ(), "LAB_STATE="+l.state)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, lastLines(string(out), 5))
	}
	return string(out), nil
}

// scriptOutput is script for a script whose standard output is the answer (its log lines
// go to standard error, and into the error when it fails).
func (l *lab) scriptOutput(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(l.dir, name), args...)
	cmd.Env = append(os.Environ(), "LAB_STATE="+l.state)
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, lastLines(stderr.String(), 5))
	}
	return string(out), nil
}

// onNode runs a command inside node i (its namespaces); exit 3 means the node is off.
func (l *lab) onNode(timeout time.Duration, i int, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	pid, err := l.initPID(i)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(pid), "-m", "-u", "-n", "-p", "--wd=/", "--"}, args...)...)
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("%s on %s: %v: %s", strings.Join(args, " "), nodeName(i), err, lastLines(stderr.String(), 3))
	}
	return stdout.String(), nil
}

// initPID is the pid of node i's init, when the node is on.
func (l *lab) initPID(i int) (int, error) {
	data, err := os.ReadFile(filepath.Join(l.state, "nodes", nodeName(i), "init.pid"))
	if err != nil {
		return 0, fmt.Errorf("%s is off", nodeName(i))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("%s: bad init.pid", nodeName(i))
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("node-init.sh")) {
		return 0, fmt.Errorf("%s is off", nodeName(i))
	}
	return pid, nil
}

// on reports whether node i is powered on.
func (l *lab) on(i int) bool {
	_, err := l.initPID(i)
	return err == nil
}

// nodeProcs lists the pids of node i whose command line contains match (the node's pid
// namespace is seen from the host's: /proc holds them all; the node's init is their root).
func (l *lab) nodeProcs(i int, match string) []int {
	init, err := l.initPID(i)
	if err != nil {
		return nil
	}
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !strings.Contains(strings.ReplaceAll(string(cmdline), "\x00", " "), match) {
			continue
		}
		if descends(pid, init) {
			out = append(out, pid)
		}
	}
	return out
}

// descends reports whether pid has ancestor as a parent, grandparent, ...
func descends(pid, ancestor int) bool {
	for depth := 0; depth < 64 && pid > 1; depth++ {
		if pid == ancestor {
			return true
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return false
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
		s := string(data)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 2 {
			return false
		}
		pid, _ = strconv.Atoi(fields[1])
	}
	return pid == ancestor
}

// libvirtSocket is node i's libvirtd socket as the host sees it.
func (l *lab) libvirtSocket(i int) string {
	return filepath.Join(l.state, "nodes", nodeName(i), "root", "run-libvirt", "libvirt-sock")
}

// consoleFile is where node i's qemu writes guest's serial console.
func (l *lab) consoleFile(i int, guest string) string {
	return filepath.Join(l.state, "nodes", nodeName(i), "root", "var-log-libvirt", "qemu", guest+".console")
}

// nft runs nft inside node i's network namespace (it exists while the lab is up, whether
// the node is on or off).
func (l *lab) nft(i int, script string) error {
	cmd := exec.Command("ip", "netns", "exec", fmt.Sprintf("kvmha-n%d", i), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft in node%d: %v: %s", i, err, out)
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// stepClock sets node i's wall-clock offset to secs (0: true time again). The node's daemons
// run under libfaketime (LAB_NODES_FAKETIME=1), which rereads the file every second.
func (l *lab) stepClock(i, secs int) error {
	path := filepath.Join(l.state, "nodes", nodeName(i), "faketime")
	return os.WriteFile(path, []byte(fmt.Sprintf("%+d\n", secs)), 0o644)
}
