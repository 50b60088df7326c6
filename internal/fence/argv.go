package fence

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// parseArgs parses a command line the way GNU getopt does: options may come
// anywhere, short flags may be bundled (-vv, -ooff, -o off), long options take
// --name=value or --name value and may be abbreviated to a unique prefix,
// and "--" ends the options. Arguments that are not options are ignored with
// a warning, as fence-agents do.
func parseArgs(set *optionSet, args []string) (*parsed, error) {
	p := &parsed{raw: map[string]string{}}
	var extra []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			extra = append(extra, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			s, err := set.lookupLong(name)
			if err != nil {
				return nil, err
			}
			if s.Type == Boolean {
				if hasVal {
					return nil, fmt.Errorf("option --%s takes no value", s.longs[0])
				}
				val = "1"
			} else if !hasVal {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("option --%s requires a value", s.longs[0])
				}
				i++
				val = args[i]
			}
			p.raw[s.Name] = val
		case len(a) > 1 && a[0] == '-':
			rest := a[1:]
			for j := 0; j < len(rest); {
				r, w := utf8.DecodeRuneInString(rest[j:])
				j += w
				s := set.byShort[r]
				if s == nil || r == utf8.RuneError {
					return nil, fmt.Errorf("option -%s not recognized", agentlog.Clip(rest[j-w:j]))
				}
				if s.Type == Boolean {
					p.raw[s.Name] = "1"
					continue
				}
				switch {
				case j < len(rest):
					p.raw[s.Name] = rest[j:]
				case i+1 < len(args):
					i++
					p.raw[s.Name] = args[i]
				default:
					return nil, fmt.Errorf("option -%c requires a value", r)
				}
				break
			}
		default:
			extra = append(extra, a)
		}
	}
	if len(extra) > 0 {
		q := make([]string, len(extra))
		for i, e := range extra {
			q[i] = agentlog.Clip(e)
		}
		p.notef(agentlog.Warning, "unused arguments on the command line: %s", strings.Join(q, " "))
	}
	return p, nil
}
