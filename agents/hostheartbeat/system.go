package hostheartbeat

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kvmha/kvmha/internal/heartbeat"
)

// system is what the agent does to processes, faked in tests.
type system interface {
	// Spawn starts argv detached (own session, stdin /dev/null, output
	// appended to logPath); exited receives its end, if it ends while this
	// process runs.
	Spawn(argv []string, logPath string) (pid int, exited <-chan error, err error)
	// IsDaemon reports whether pid is a running heartbeat daemon.
	IsDaemon(pid int) bool
	Signal(pid int, sig syscall.Signal) error
	Now() time.Duration // BootTime
	// Partitioned reports whether this node lost quorum without shutting
	// down (Pacemaker then stops its resources, the heartbeat too), and why.
	Partitioned(ctx context.Context) (bool, string)
}

type realSystem struct{}

// maxLog is the size beyond which start rotates the daemon's log once.
const maxLog = 4 << 20

func (realSystem) Spawn(argv []string, logPath string) (int, <-chan error, error) {
	if fi, err := os.Stat(logPath); err == nil && fi.Size() > maxLog {
		os.Rename(logPath, logPath+".1")
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return 0, nil, err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	// A clean environment: nothing of Pacemaker's reaches the daemon.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return cmd.Process.Pid, exited, nil
}

func (realSystem) IsDaemon(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	args := strings.Split(string(bytes.TrimRight(data, "\x00")), "\x00")
	return len(args) >= 3 && args[1] == "heartbeat" && args[2] == "run" && !isZombie(pid)
}

func isZombie(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses, which may hold
	// anything: look after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	return i < 0 || i+2 >= len(data) || data[i+2] == 'Z'
}

func (realSystem) Signal(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }

func (realSystem) Now() time.Duration { return heartbeat.BootTime() }

// Partitioned asks Pacemaker's tools (stop may fork; monitor never does):
// crm_node -q prints 0 when the partition has no quorum (its exit status
// varies between versions, so only the output counts), and the transient
// "shutdown" attribute is set when this node itself is being shut down.
// Any doubt (no cluster, a tool missing or failing) answers false.
func (realSystem) Partitioned(ctx context.Context) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "crm_node", "-q").Output()
	q := strings.TrimSpace(string(out))
	if q != "0" {
		return false, fmt.Sprintf("crm_node -q: %q (%v)", q, err)
	}
	out, _ = exec.CommandContext(ctx, "attrd_updater", "-Q", "-n", "shutdown").Output()
	if shuttingDown(string(out)) {
		return false, "no quorum, but this node is shutting down"
	}
	return true, "no quorum"
}

// shuttingDown reads attrd_updater -Q output: name="shutdown" host="n" value="1700000000".
func shuttingDown(out string) bool {
	_, v, ok := strings.Cut(out, `value="`)
	if !ok {
		return false
	}
	v, _, _ = strings.Cut(v, `"`)
	return v != "" && v != "0"
}

// readPID reads the daemon's pid file: 0 when there is none.
func readPID(path string) (int, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return 0, nil // garbage: as good as none
	}
	return pid, nil
}
