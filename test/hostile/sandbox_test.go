//go:build hostile

package hostile

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The sweep runs every invocation inside a sandbox: a copy of this test binary started in
// new mount, pid, network, UTS and IPC namespaces (sandboxEnv set), which serves one
// invocation at a time over its stdin and stdout. Inside it:
//
//   - /run, /tmp, /dev/shm and /lib/modules are empty tmpfs mounts, fresh for each
//     invocation: no libvirtd or Pacemaker socket, no heartbeat state of the host, no
//     kernel module an agent could load, and HA_RSCTMP starts empty;
//   - /dev holds only null, zero, full, random and urandom: no watchdog an agent could arm,
//     no disk a block:// backend could write;
//   - the network namespace has only a loopback that is down, so every Ceph, libvirt and
//     Pacemaker connection fails at once, and nothing of the host is reachable;
//   - after each invocation every process left in the pid namespace (daemons an agent
//     started) is killed.
//
// The agent itself gets an address-space limit (prlimit), so a read without a bound ends
// in a failed allocation instead of the host's OOM killer; its peak RSS is reported.

const sandboxEnv = "KVMHA_HOSTILE_SANDBOX"

// addressSpaceLimit is the agents' RLIMIT_AS: far above what any agent needs (a Go binary
// reserves some hundred MiB of address space; the Ceph-linked twin more), far below the
// host's memory.
const addressSpaceLimit = 4 << 30

// outputCap is how much of each stream is kept; the full size is counted.
const outputCap = 256 << 10

// fixtureDir is where each invocation's files live inside the sandbox.
const fixtureDir = "/run/hostile"

// invocation is one run of one binary.
type invocation struct {
	Argv  []string // argv[0] is the binary's path
	Env   []string
	Stdin string
	// StdinOpen keeps stdin open after Stdin is written, as a fencer that never closes it.
	StdinOpen bool
	// Limit is when the sandbox kills the agent: its deadline plus slack.
	Limit time.Duration
	// Files (path → content), Dirs and FIFOs are created before the run (under fixtureDir).
	Files map[string]string
	Dirs  []string
	FIFOs []string
}

// outcome is what the sandbox saw.
type outcome struct {
	Code        int // exit code; -1 when killed by a signal
	Signal      string
	Killed      bool // the sandbox killed it at Limit
	Wall        time.Duration
	MaxRSSKiB   int64
	Stdout      string
	Stderr      string
	StdoutBytes int
	StderrBytes int
	Err         string // the sandbox could not run it
}

// sandboxMain is the sandbox process: set up the namespace, then serve invocations.
func sandboxMain() int {
	if err := setupSandbox(); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: %v\n", err)
		return 1
	}
	in := bufio.NewReader(os.Stdin)
	enc := json.NewEncoder(os.Stdout)
	dec := json.NewDecoder(in)
	for {
		var inv invocation
		if err := dec.Decode(&inv); err != nil {
			if errors.Is(err, io.EOF) {
				return 0
			}
			fmt.Fprintf(os.Stderr, "sandbox: %v\n", err)
			return 1
		}
		out := runInSandbox(inv)
		cleanSandbox()
		if err := enc.Encode(out); err != nil {
			return 1
		}
	}
}

func setupSandbox() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	if _, err := os.Stat("/lib/modules"); err == nil {
		if err := unix.Mount("tmpfs", "/lib/modules", "tmpfs", 0, "mode=0755,size=1m"); err != nil {
			return fmt.Errorf("mount /lib/modules: %w", err)
		}
	}
	if err := setupDev(); err != nil {
		return err
	}
	return freshScratch()
}

// setupDev replaces /dev by a tmpfs holding only harmless character devices.
func setupDev() error {
	if err := unix.Mount("tmpfs", "/dev", "tmpfs", unix.MS_NOSUID, "mode=0755,size=1m"); err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
	devs := map[string]uint64{"null": unix.Mkdev(1, 3), "zero": unix.Mkdev(1, 5), "full": unix.Mkdev(1, 7),
		"random": unix.Mkdev(1, 8), "urandom": unix.Mkdev(1, 9)}
	for name, dev := range devs {
		if err := unix.Mknod("/dev/"+name, unix.S_IFCHR|0o666, int(dev)); err != nil {
			return fmt.Errorf("mknod /dev/%s: %w", name, err)
		}
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(target, "/dev/"+name); err != nil {
			return err
		}
	}
	return os.Mkdir("/dev/shm", 0o1777)
}

// keepEnv names a folder the sandbox keeps reachable at its path although it lies under a
// scratch mount: the binaries under test, when the checkout is under /tmp.
const keepEnv = "KVMHA_HOSTILE_KEEP"

// kept is the folder of keepEnv, opened before the scratch mounts hide it (nil when it is
// not under one).
var kept *os.File

// freshScratch mounts new, empty /run, /tmp and /dev/shm, and binds the kept folder back.
func freshScratch() error {
	keep := os.Getenv(keepEnv)
	if kept == nil && keep != "" && underScratch(keep) {
		f, err := os.OpenFile(keep, unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", keep, err)
		}
		kept = f
	}
	for _, dir := range []string{"/run", "/tmp", "/dev/shm"} {
		_ = unix.Unmount(dir, unix.MNT_DETACH)
		if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID, "mode=1777,size=64m"); err != nil {
			return fmt.Errorf("mount %s: %w", dir, err)
		}
	}
	if kept != nil {
		if err := os.MkdirAll(keep, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(fmt.Sprintf("/proc/self/fd/%d", kept.Fd()), keep, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s back: %w", keep, err)
		}
	}
	return os.MkdirAll("/run/resource-agents", 0o755)
}

// underScratch reports whether path lies under one of the scratch mounts.
func underScratch(path string) bool {
	for _, dir := range []string{"/run/", "/tmp/", "/dev/shm/"} {
		if strings.HasPrefix(filepath.Clean(path)+"/", dir) {
			return true
		}
	}
	return false
}

// cleanSandbox kills whatever the last invocation left running and empties the scratch
// mounts. As PID 1 of the namespace, kill(-1) reaches every other process in it.
func cleanSandbox() {
	_ = unix.Kill(-1, unix.SIGKILL)
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if pid <= 0 || err != nil {
			break
		}
	}
	if err := freshScratch(); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: %v\n", err)
		os.Exit(1)
	}
}

// capture keeps the first outputCap bytes and counts the rest.
type capture struct {
	buf   []byte
	total int
}

func (c *capture) Write(p []byte) (int, error) {
	c.total += len(p)
	if room := outputCap - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func runInSandbox(inv invocation) outcome {
	if err := makeFixtures(inv); err != nil {
		return outcome{Err: "fixtures: " + err.Error()}
	}
	var stdout, stderr capture
	cmd := exec.Command(inv.Argv[0], inv.Argv[1:]...)
	cmd.Env = inv.Env
	// A relative path an agent is given lands in the invocation's own scratch, never in the
	// host's folders.
	cmd.Dir = fixtureDir
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A daemon the agent started may hold the streams; do not wait for it.
	cmd.WaitDelay = 200 * time.Millisecond
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return outcome{Err: err.Error()}
	}
	cmd.Stdin = stdinR
	start := time.Now()
	if err := cmd.Start(); err != nil {
		stdinR.Close()
		stdinW.Close()
		return outcome{Err: "start: " + err.Error()}
	}
	stdinR.Close()
	limit := &unix.Rlimit{Cur: addressSpaceLimit, Max: addressSpaceLimit}
	_ = unix.Prlimit(cmd.Process.Pid, unix.RLIMIT_AS, limit, nil)
	go func() {
		_, _ = io.WriteString(stdinW, inv.Stdin)
		if !inv.StdinOpen {
			stdinW.Close()
		}
	}()
	var killed atomic.Bool
	timer := time.AfterFunc(inv.Limit, func() {
		killed.Store(true)
		_ = unix.Kill(-1, unix.SIGKILL)
	})
	waitErr := cmd.Wait()
	timer.Stop()
	stdinW.Close()
	out := outcome{Wall: time.Since(start), Killed: killed.Load(),
		Stdout: string(stdout.buf), Stderr: string(stderr.buf), StdoutBytes: stdout.total, StderrBytes: stderr.total}
	if st := cmd.ProcessState; st != nil {
		out.Code = st.ExitCode()
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			out.Signal = ws.Signal().String()
		}
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			out.MaxRSSKiB = ru.Maxrss
		}
	} else if waitErr != nil {
		out.Err = waitErr.Error()
	}
	return out
}

func makeFixtures(inv invocation) error {
	if err := os.MkdirAll(fixtureDir, 0o755); err != nil {
		return err
	}
	for _, d := range inv.Dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for path, content := range inv.Files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return err
		}
	}
	for _, f := range inv.FIFOs {
		if err := unix.Mkfifo(f, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// sandbox is the test's handle on one sandbox process.
type sandbox struct {
	cmd *exec.Cmd
	enc *json.Encoder
	dec *json.Decoder
	in  io.Closer
}

func startSandbox() (*sandbox, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), sandboxEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET |
			syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		Pdeathsig: syscall.SIGKILL,
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the sandbox (needs root for namespaces): %w", err)
	}
	return &sandbox{cmd: cmd, enc: json.NewEncoder(stdin), dec: json.NewDecoder(stdout), in: stdin}, nil
}

func (s *sandbox) run(inv invocation) (outcome, error) {
	if err := s.enc.Encode(inv); err != nil {
		return outcome{}, fmt.Errorf("sandbox gone: %w", err)
	}
	var out outcome
	if err := s.dec.Decode(&out); err != nil {
		return outcome{}, fmt.Errorf("sandbox gone: %w", err)
	}
	if out.Err != "" {
		return out, errors.New(out.Err)
	}
	return out, nil
}

func (s *sandbox) close() {
	s.in.Close()
	_ = s.cmd.Wait()
}

// firstLines is the start of a text, for failure messages.
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n")
}
