package fencelibvirt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Bounds of password_script: a password is one short line, and a script
// that reads it from a vault answers in a moment.
const (
	passwordScriptWait   = 10 * time.Second
	maxPasswordScriptOut = 4 << 10
)

// runPasswordScript runs script and returns what it prints, trailing
// blanks removed (fence-agents' rule). It runs without a shell (see
// splitWords), in its own process group, killed whole when it overruns its
// deadline, with stdin from /dev/null and the agent's environment; its
// output is bounded, and never logged.
func runPasswordScript(ctx context.Context, script string) (string, error) {
	argv, err := splitWords(script, true)
	if err != nil {
		return "", err
	}
	if len(argv) == 0 || argv[0] == "" {
		return "", errors.New("names no command")
	}
	ctx, cancel := context.WithTimeout(ctx, passwordScriptWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second // a child that keeps the pipes open does not hold the agent
	stdout := &boundedBuffer{limit: maxPasswordScriptOut}
	stderr := &boundedBuffer{limit: maxPasswordScriptOut}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	password := strings.TrimRight(stdout.String(), " \t\r\n\v\f")
	switch {
	case ctx.Err() != nil:
		return "", fmt.Errorf("%q did not finish in time (at most %s, within the action's deadline)", agentlog.Clip(argv[0]), passwordScriptWait)
	case err != nil:
		return "", fmt.Errorf("%q failed: %v%s", agentlog.Clip(argv[0]), err, scriptStderr(stderr.String(), password))
	case stdout.overflow:
		return "", fmt.Errorf("%q printed more than %d bytes", agentlog.Clip(argv[0]), maxPasswordScriptOut)
	case password == "":
		return "", fmt.Errorf("%q printed no password", agentlog.Clip(argv[0]))
	}
	return password, nil
}

// scriptStderr is the first line of a failed script's stderr, for the
// message, unless it holds what the script printed on stdout.
func scriptStderr(stderr, stdout string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(stderr), "\n")
	if line == "" || stdout != "" && strings.Contains(line, stdout) {
		return ""
	}
	return ": " + agentlog.Clip(line)
}

// boundedBuffer keeps the first limit bytes written to it and notes that
// more came: the script runs on, bounded by its deadline, rather than
// blocking on a full pipe.
// (No embedded bytes.Buffer: io.Copy would use its ReadFrom, unbounded.)
type boundedBuffer struct {
	buf      bytes.Buffer
	limit    int
	overflow bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.buf.Len(); len(p) > room {
		b.overflow = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *boundedBuffer) String() string { return b.buf.String() }
