package fence

import (
	"fmt"
	"io"
	"strings"

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

// parseStdin reads key=value lines as pacemaker-fenced writes them.
func parseStdin(set *optionSet, r io.Reader) (*parsed, error) {
	p := &parsed{raw: map[string]string{}}
	if r == nil {
		return p, nil
	}
	data, err := io.ReadAll(io.LimitReader(r, maxStdin+1))
	if err != nil {
		return nil, fmt.Errorf("reading stdin: %v", err)
	}
	if len(data) > maxStdin {
		return nil, fmt.Errorf("more than %d bytes on stdin", maxStdin)
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
			p.notef(agentlog.Debug, "ignoring unknown parameter %q on stdin", clip(key))
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
