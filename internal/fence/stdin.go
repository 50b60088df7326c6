package fence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kvmha/kvmha/internal/files"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// maxStdin bounds what is read from stdin; the fencer sends a few hundred bytes.
const maxStdin = 1 << 20

// note is a message produced before the logger exists; it is logged later.
type note struct {
	level agentlog.Level
	msg   string
}

// parsed is the outcome of reading stdin or the command line.
type parsed struct {
	raw   map[string]string
	notes []note
}

func (p *parsed) notef(l agentlog.Level, format string, args ...any) {
	p.notes = append(p.notes, note{l, fmt.Sprintf(format, args...)})
}

// stdinTimeout bounds the wait for the end of stdin. pacemaker-fenced writes its few lines
// and closes the pipe at once; a caller that never closes it must not hold the agent until
// the fencer's own timeout kills it, unreported. A terminal (someone typing the options)
// gets no bound.
const stdinTimeout = 5 * time.Second

// parseStdin reads key=value lines as pacemaker-fenced writes them.
func parseStdin(set *optionSet, r io.Reader) (*parsed, error) {
	p := &parsed{raw: map[string]string{}}
	if r == nil {
		return p, nil
	}
	ctx := context.Background()
	if !isTerminal(r) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, stdinTimeout)
		defer cancel()
	}
	data, err := files.ReadStream(ctx, r, "stdin", maxStdin)
	if errors.Is(err, files.ErrTimedOut) {
		return nil, fmt.Errorf("stdin was not closed within %s: write the options, then close it", stdinTimeout)
	}
	if err != nil {
		return nil, err
	}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok {
			p.notef(agentlog.Warning, "stdin line %d has no '=', ignored", i+1)
			continue
		}
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		s := set.lookupKey(key)
		if s == nil {
			p.notef(agentlog.Debug, "ignoring unknown parameter %q on stdin", agentlog.Clip(key))
			continue
		}
		if val == "" {
			p.notef(agentlog.Debug, "ignoring empty value for %s on stdin", s.Name)
			continue
		}
		p.raw[s.Name] = val
	}
	return p, nil
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
