package agentlog

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Untrusted text (a parameter value, a line of a file, a name a daemon sent) reaches
// messages through Clip, and every log line through Line: neither can make a message
// long, span lines, or carry bytes a log reader or syslog chokes on.

// clipLimit is how much of an untrusted value a message quotes.
const clipLimit = 64

// LineLimit is the longest log line the runtimes write; longer ones are cut.
const LineLimit = 2048

// Clip makes untrusted text printable and short for a message: control characters and
// invalid UTF-8 are escaped as Go does in quoted strings (a newline becomes \n), and what
// passes clipLimit bytes is cut at a character boundary and marked with "...".
func Clip(s string) string {
	q := strconv.Quote(s)
	q = q[1 : len(q)-1]
	if len(q) <= clipLimit {
		return q
	}
	return cut(q, clipLimit) + "..."
}

// Line makes one log line safe to write: invalid UTF-8 is escaped (\xff), line breaks and
// other control characters become spaces, and a line longer than LineLimit bytes is cut,
// saying how much was left out. Secrets must be redacted before: cutting could split one.
func Line(s string) string {
	if !utf8.ValidString(s) {
		var b strings.Builder
		for i := 0; i < len(s); {
			r, w := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && w == 1 {
				b.WriteString(`\x` + strconv.FormatUint(uint64(s[i]), 16))
			} else {
				b.WriteString(s[i : i+w])
			}
			i += w
		}
		s = b.String()
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) <= LineLimit {
		return s
	}
	kept := cut(s, LineLimit-40)
	return kept + "... (" + strconv.Itoa(len(s)-len(kept)) + " bytes cut)"
}

// cut returns at most n bytes of s, never splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
