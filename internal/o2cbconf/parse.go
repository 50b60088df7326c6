package o2cbconf

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// File is a parsed cluster.conf: its stanzas in file order.
type File struct {
	Stanzas []Stanza
}

// Stanza is one "kind:" block and its attributes in file order.
type Stanza struct {
	Kind  string
	Attrs []Attr
	// Line is where the stanza started (1-based); 0 for stanzas made in memory.
	Line int
}

// Attr is one "key = value" line.
type Attr struct {
	Key, Value string
}

// Get returns the value of key, and whether the stanza has it.
func (s *Stanza) Get(key string) (string, bool) {
	for _, a := range s.Attrs {
		if a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// where names the stanza in error messages.
func (s *Stanza) where() string {
	if s.Line > 0 {
		return fmt.Sprintf("%s stanza at line %d", agentlog.Clip(s.Kind), s.Line)
	}
	return agentlog.Clip(s.Kind) + " stanza"
}

// MaxSize bounds what Parse accepts. Real files hold a few hundred bytes a
// node; the kernel allows 255 nodes.
const MaxSize = 1 << 20

// Parse reads a cluster.conf. It accepts what ocfs2-tools writes and what
// people type: tabs or spaces before attributes, blanks around '=', comment
// and blank lines anywhere, CRLF line ends. It rejects what ocfs2-tools would
// misread - an attribute outside a stanza, an indented stanza header, a line
// that is neither, a key given twice in one stanza - with the line number.
func Parse(data []byte) (*File, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("file is larger than %d bytes", MaxSize)
	}
	f := &File{}
	var cur *Stanza
	for i, raw := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		line := strings.TrimSuffix(string(raw), "\r")
		if err := checkText(line); err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
			continue
		case !isBlank(line[0]):
			kind, ok := strings.CutSuffix(trimmed, ":")
			kind = strings.TrimSpace(kind)
			if !ok || !isKey(kind) {
				return nil, fmt.Errorf("line %d: %q is neither a stanza header (\"kind:\") nor an indented attribute", n, agentlog.Clip(trimmed))
			}
			f.Stanzas = append(f.Stanzas, Stanza{Kind: kind, Line: n})
			cur = &f.Stanzas[len(f.Stanzas)-1]
		default:
			key, value, ok := strings.Cut(trimmed, "=")
			key, value = strings.TrimSpace(key), strings.TrimSpace(value)
			if !ok || !isKey(key) {
				if strings.HasSuffix(trimmed, ":") {
					return nil, fmt.Errorf("line %d: stanza header %q must start at the beginning of the line", n, agentlog.Clip(trimmed))
				}
				return nil, fmt.Errorf("line %d: %q is not a \"key = value\" attribute", n, agentlog.Clip(trimmed))
			}
			if cur == nil {
				return nil, fmt.Errorf("line %d: attribute %s comes before any stanza header", n, agentlog.Clip(key))
			}
			if _, dup := cur.Get(key); dup {
				return nil, fmt.Errorf("line %d: %s is given twice in the %s", n, agentlog.Clip(key), cur.where())
			}
			cur.Attrs = append(cur.Attrs, Attr{Key: key, Value: value})
		}
	}
	return f, nil
}

// Bytes writes the file the way o2cb does: "kind:" lines, one tab before
// each "key = value", a blank line after every stanza. Comments are not kept
// (o2cb drops them too).
func (f *File) Bytes() []byte {
	var b bytes.Buffer
	for _, s := range f.Stanzas {
		b.WriteString(s.Kind)
		b.WriteString(":\n")
		for _, a := range s.Attrs {
			b.WriteString("\t")
			b.WriteString(a.Key)
			b.WriteString(" = ")
			b.WriteString(a.Value)
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// isKey accepts the names ocfs2-tools uses for stanzas and attributes.
func isKey(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// checkText refuses bytes no text editor or o2cb produces: NUL and other
// control characters (tab aside) and invalid UTF-8. Values are written into
// configfs and logs, where such bytes do harm.
func checkText(line string) error {
	if !utf8.ValidString(line) {
		return fmt.Errorf("invalid UTF-8")
	}
	for i, r := range line {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return fmt.Errorf("control character %U at column %d", r, i+1)
		}
	}
	return nil
}
