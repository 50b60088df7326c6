// Package hostcmd runs the host's tools (Pacemaker's crm_node, attrd_updater, crm_resource,
// cibadmin and crm_mon; modprobe; an agent's monitor scripts and csync2) the one way kvmha
// runs programs: found in PATH or in the system folders (Pacemaker runs agents, and sudo
// runs admins, with a PATH that may lack the sbin ones), with a small fixed environment (an
// agent's own holds the resource parameters, secrets among them, which no child may see,
// and a fixed locale keeps messages in English), bounded by the caller's context, with
// output capped, and with the first line of the tool's error output in the error. The
// typed wrappers read machine output (XML) where the tool offers it.
package hostcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Env is the whole environment of every child, a new slice on each call. Programs kvmha
// starts that hostcmd does not run (the heartbeat daemon, rbd-nbd) get it too.
func Env() []string { return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"} }

// MaxOutput bounds what is kept of each of a child's streams unless Cmd says otherwise.
const MaxOutput = 1 << 20

// waitDelay is how long Run waits for a killed child's streams to close (a grandchild may
// hold them).
const waitDelay = time.Second

// systemDirs are searched after PATH, in this order.
var systemDirs = []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"}

// ErrNotInstalled: a program is neither in PATH nor in the system folders.
var ErrNotInstalled = errors.New("not installed")

// Lookup finds a program in PATH, then in the system folders. A name with a slash is that
// file only.
func Lookup(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil || strings.ContainsRune(name, '/') {
		return p, err
	}
	for _, d := range systemDirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is %w (not in PATH nor in %s)", name, ErrNotInstalled, strings.Join(systemDirs, ", "))
}

// Cmd is a program to run. Run and Output run one with the defaults; the fields say where a
// caller needs others.
type Cmd struct {
	Name string
	Args []string
	// MaxOutput bounds what is kept of each stream (0: MaxOutput); Output fails when some of
	// the standard output was dropped.
	MaxOutput int
	// Combined writes the error output into Stdout as well, interleaved as the program wrote
	// them: for output that is quoted whole (a monitor script's).
	Combined bool
	// passCIB passes on this process's CIB_* variables (see cibVariables).
	passCIB bool
}

// Result is what a program did.
type Result struct {
	Stdout, Stderr []byte
	ExitCode       int
	// Truncated: the program printed more than the limit on its standard output.
	Truncated bool
}

// ExitError is a program that ran and exited with a non-zero status.
type ExitError struct {
	// Command is the program and its arguments.
	Command  string
	ExitCode int
	// Line is the first line of its error output (else of its output).
	Line string
}

func (e *ExitError) Error() string {
	if e.Line == "" {
		return fmt.Sprintf("%s: exit status %d", e.Command, e.ExitCode)
	}
	return fmt.Sprintf("%s: %s (exit %d)", e.Command, e.Line, e.ExitCode)
}

// Run runs name with args and returns what it printed and its exit status. A program that
// cannot be found or started, or that ctx ends, is an error; a non-zero exit status is not
// (see Output for that).
func Run(ctx context.Context, name string, args ...string) (Result, error) {
	return Cmd{Name: name, Args: args}.Run(ctx)
}

// Output runs name and returns its standard output; a non-zero exit status is an
// *ExitError naming the first line the program printed on its error output.
func Output(ctx context.Context, name string, args ...string) ([]byte, error) {
	return Cmd{Name: name, Args: args}.Output(ctx)
}

// Run runs the program: see the function Run.
func (c Cmd) Run(ctx context.Context) (Result, error) {
	path, err := Lookup(c.Name)
	if err != nil {
		return Result{}, err
	}
	limit := c.MaxOutput
	if limit <= 0 {
		limit = MaxOutput
	}
	cmd := exec.CommandContext(ctx, path, c.Args...)
	cmd.Env = Env()
	if c.passCIB {
		cmd.Env = append(cmd.Env, cibVariables(os.Environ())...)
	}
	cmd.WaitDelay = waitDelay
	stdout, stderr := &capped{limit: limit}, &capped{limit: limit}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if c.Combined {
		cmd.Stderr = stdout
	}
	err = cmd.Run()
	res := Result{Stdout: stdout.buf.Bytes(), Stderr: stderr.buf.Bytes(), Truncated: stdout.dropped}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("%s: %w", c.command(), ctx.Err())
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
		return res, nil
	case err != nil:
		return res, fmt.Errorf("%s: %w", c.Name, err)
	}
	return res, nil
}

// Output runs the program: see the function Output.
func (c Cmd) Output(ctx context.Context) ([]byte, error) {
	res, err := c.Run(ctx)
	switch {
	case err != nil:
		return nil, err
	case res.ExitCode != 0:
		return res.Stdout, &ExitError{Command: c.command(), ExitCode: res.ExitCode, Line: firstLine(res.Stderr, res.Stdout)}
	case res.Truncated:
		return nil, fmt.Errorf("%s: more than %d bytes of output", c.command(), len(res.Stdout))
	}
	return res.Stdout, nil
}

// command is the command line, for messages.
func (c Cmd) command() string {
	return agentlog.Line(strings.Join(append([]string{c.Name}, c.Args...), " "))
}

// cibVariables are the CIB_* entries of environ. They choose the CIB Pacemaker's tools act
// on (CIB_file, CIB_shadow from crm_shadow, a remote CIB's CIB_server and CIB_user): an
// admin's reach the tools that read the CIB for a kvmha command, as they reach cibadmin.
// Pacemaker sets none for agents.
func cibVariables(environ []string) []string {
	var vars []string
	for _, kv := range environ {
		if strings.HasPrefix(kv, "CIB_") {
			vars = append(vars, kv)
		}
	}
	return vars
}

// firstLine is the first non-blank line of the first stream that has one, made safe for a
// message.
func firstLine(streams ...[]byte) string {
	for _, s := range streams {
		for _, l := range strings.Split(string(s), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				return agentlog.Line(l)
			}
		}
	}
	return ""
}

// capped keeps the first limit bytes written to it; later writes succeed and are dropped,
// so a chatty program is not cut off by a broken pipe. (The buffer is a field, not
// embedded: io.Copy would use an embedded bytes.Buffer's ReadFrom and bypass the cap.)
type capped struct {
	buf     bytes.Buffer
	limit   int
	dropped bool
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.limit - c.buf.Len()
	if room < len(p) {
		c.dropped = true
	}
	if room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
