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
)

// system is what the agent does to processes, faked in tests.
type system interface {
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
	// BootID is the kernel's boot id ("" when unknown).
	BootID() string
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

func (realSystem) StartTime(pid int) (uint64, error) {
	fields, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

func (realSystem) BootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
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

// pidFileTimeout bounds reading the pid file: the state directory is a parameter, and may
// be on a mount that hangs.
const pidFileTimeout = 2 * time.Second

// readPID reads the daemon's pid file: 0 when there is none.
func readPID(ctx context.Context, path string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, pidFileTimeout)
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
