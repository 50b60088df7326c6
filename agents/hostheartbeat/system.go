package hostheartbeat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/hostcmd"
)

// deps is what the agent takes from outside its process; tests fill it with fakes.
type deps struct {
	// procs starts, finds and signals the daemon's processes.
	procs processes
	// bootID is the kernel's boot id ("" when unknown).
	bootID func() string
	// now is the time since boot (heartbeat.BootTime), the clock of the daemon's state.
	now func() time.Duration
	// partitioned reports whether this node lost quorum without shutting down (Pacemaker
	// then stops its resources, the heartbeat too), and why.
	partitioned func(ctx context.Context) (bool, string)
}

// processes is what the agent does to processes.
type processes interface {
	// Spawn starts argv detached (own session, stdin /dev/null, output
	// appended to logPath); exited receives its end, if it ends while this
	// process runs.
	Spawn(argv []string, logPath string) (pid int, exited <-chan error, err error)
	// IsDaemon reports whether pid is a running heartbeat daemon.
	IsDaemon(pid int) bool
	// StartTime is when pid started (clock ticks after boot, /proc/PID/stat's starttime).
	// With the boot id it tells the daemon start launched from a later process that was
	// given the same pid.
	StartTime(pid int) (uint64, error)
	Signal(pid int, sig syscall.Signal) error
}

// productionDeps is this host.
func productionDeps() deps {
	return deps{procs: hostProcesses{}, bootID: bootID, now: heartbeat.BootTime, partitioned: partitioned}
}

// hostProcesses are this host's.
type hostProcesses struct{}

// maxLog is the size beyond which start rotates the daemon's log once.
const maxLog = 4 << 20

func (hostProcesses) Spawn(argv []string, logPath string) (int, <-chan error, error) {
	if fi, err := os.Stat(logPath); err == nil && fi.Size() > maxLog {
		os.Rename(logPath, logPath+".1")
	}
	// Non-blocking open: a FIFO in the log's place would wait for a reader for ever.
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_NONBLOCK, 0o640)
	if err != nil {
		return 0, nil, err
	}
	defer logf.Close()
	if fi, err := logf.Stat(); err != nil || !fi.Mode().IsRegular() {
		return 0, nil, fmt.Errorf("%s is no regular file", logPath)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	// A clean environment: nothing of Pacemaker's reaches the daemon.
	cmd.Env = hostcmd.Env()
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

func (hostProcesses) IsDaemon(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	args := strings.Split(string(bytes.TrimRight(data, "\x00")), "\x00")
	return len(args) >= 3 && args[1] == "heartbeat" && args[2] == "run" && !isZombie(pid)
}

func isZombie(pid int) bool {
	fields, err := statFields(pid)
	return err != nil || fields[0] == "Z"
}

// statFields returns the fields of /proc/PID/stat after the command name, which is in
// parentheses and may hold anything (blanks, parentheses): fields[0] is the state (field
// 3 of proc(5)), fields[19] the start time (field 22).
func statFields(pid int) ([]string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 {
		return nil, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	return fields, nil
}

func (hostProcesses) StartTime(pid int) (uint64, error) {
	fields, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// bootID reads the kernel's boot id.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (hostProcesses) Signal(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }

// partitioned asks Pacemaker's tools (stop may fork; monitor never does): crm_node -q
// tells whether the partition has quorum, and the transient "shutdown" attribute is set
// when this node itself is being shut down. Any doubt (no cluster, a tool missing or
// failing) answers false.
func partitioned(ctx context.Context) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	quorate, err := hostcmd.HasQuorum(ctx)
	switch {
	case err != nil:
		return false, fmt.Sprintf("quorum unknown (%v)", err)
	case quorate:
		return false, "quorate"
	}
	if v, err := hostcmd.NodeAttribute(ctx, "shutdown", ""); err == nil && shuttingDown(v) {
		return false, "no quorum, but this node is shutting down"
	}
	return true, "no quorum"
}

// shuttingDown reads the "shutdown" attribute: the time the shutdown was asked for, 0
// when none was.
func shuttingDown(value string) bool { return value != "" && value != "0" }

// pidFileTimeout bounds reading the pid file and the state: the state directory is a
// parameter, and may be on a mount that hangs. It is a floor (see readBound).
const pidFileTimeout = 2 * time.Second

// readBound is how long a read of the daemon's files may take: half the time the action has
// left, at least pidFileTimeout. Two seconds alone mistook a starved host for a hung mount:
// the kernel VM pair under Pacemaker (TCG guests at nice 19) failed monitors of a healthy
// daemon with "read /run/kvmha/heartbeat.state: read did not finish in time" on a tmpfs, and
// each failure restarted the heartbeat (a clean stop: a stopped record, the watchdog disarmed).
func readBound(ctx context.Context) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return pidFileTimeout
	}
	return max(time.Until(d)/2, pidFileTimeout)
}

// readPID reads the daemon's pid file: 0 when there is none.
func readPID(ctx context.Context, path string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, readBound(ctx))
	defer cancel()
	data, err := files.Read(ctx, path, 64)
	if errors.Is(err, fs.ErrNotExist) {
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
