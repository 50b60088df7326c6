// Package hostcmd runs the host's tools (Pacemaker's crm_node, attrd_updater, crm_resource,
// cibadmin and crm_mon; modprobe) the one way kvmha runs programs: found in PATH or in the
// sbin folders (Pacemaker runs agents with a PATH that may lack them), with a small fixed
// environment (an agent's own holds the resource parameters, secrets among them, which no
// child may see, and a fixed locale keeps messages in English), bounded by the caller's
// context, with output capped, and with the first line of the tool's error output in the
// error. The typed wrappers read machine output (XML) where the tool offers it.
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

// Env is the whole environment of every child.
var Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}

// MaxOutput bounds what is kept of each of a child's streams.
const MaxOutput = 1 << 20

// waitDelay is how long Run waits for a killed child's streams to close (a grandchild may
// hold them).
const waitDelay = time.Second

// sbinDirs are searched after PATH: tools in sbin are missing from many PATHs.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin"}

// Lookup finds a program in PATH, then in the sbin folders.
func Lookup(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if strings.ContainsRune(name, '/') {
		return "", fmt.Errorf("%s: not an executable file", name)
	}
	for _, d := range sbinDirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed (not in PATH nor in %s)", name, strings.Join(sbinDirs, ", "))
}

// Result is what a program did.
type Result struct {
	Stdout, Stderr []byte
	ExitCode       int
}

// ExitError is a program that ran and exited with a non-zero status.
type ExitError struct {
	Program  string
	ExitCode int
	// Line is the first line of its error output (else of its output), clipped.
	Line string
}

func (e *ExitError) Error() string {
	if e.Line == "" {
		return fmt.Sprintf("%s exited with status %d", e.Program, e.ExitCode)
	}
	return fmt.Sprintf("%s exited with status %d: %s", e.Program, e.ExitCode, e.Line)
}

// Run runs name with args and returns what it printed and its exit status. A program that
// cannot be found or started, or that ctx ends, is an error; a non-zero exit status is not
// (see Output for that).
func Run(ctx context.Context, name string, args ...string) (Result, error) {
	path, err := Lookup(name)
	if err != nil {
		return Result{}, err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = Env
	cmd.WaitDelay = waitDelay
	var stdout, stderr capped
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	res := Result{Stdout: stdout.buf.Bytes(), Stderr: stderr.buf.Bytes()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("%s: %w", name, ctx.Err())
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
		return res, nil
	case err != nil:
		return res, fmt.Errorf("%s: %w", name, err)
	}
	return res, nil
}

// Output runs name and returns its standard output; a non-zero exit status is an
// *ExitError naming the first line the program printed on its error output.
func Output(ctx context.Context, name string, args ...string) ([]byte, error) {
	res, err := Run(ctx, name, args...)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return res.Stdout, &ExitError{Program: name, ExitCode: res.ExitCode, Line: firstLine(res.Stderr, res.Stdout)}
	}
	return res.Stdout, nil
}

// firstLine is the first non-blank line of the first stream that has one, clipped.
func firstLine(streams ...[]byte) string {
	for _, s := range streams {
		for _, l := range strings.Split(string(s), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				return agentlog.Clip(l)
			}
		}
	}
	return ""
}

// capped keeps the first MaxOutput bytes written to it; later writes succeed and are
// dropped, so a chatty program is not cut off by a broken pipe.
type capped struct{ buf bytes.Buffer }

func (c *capped) Write(p []byte) (int, error) {
	if room := MaxOutput - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
