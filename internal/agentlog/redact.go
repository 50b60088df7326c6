package agentlog

import (
	"regexp"
	"sort"
	"strings"
)

// Redactor replaces secret values (passwords, keys) in log text with a mark.
// Which values count as secret, and how short a value may be and still be
// worth hiding, is each runtime's rule; the replacing is the same.
//
// A Redactor is an immutable value, so one can be read by every goroutine of
// an action without locking. The zero Redactor hides nothing.
type Redactor struct {
	mark    string
	secrets []string // longest first, so a secret containing another is hidden whole
}

// NewRedactor returns a Redactor that replaces each of secrets with mark.
// Empty secrets are ignored: replacing "" would insert mark everywhere.
func NewRedactor(mark string, secrets ...string) Redactor {
	kept := make([]string, 0, len(secrets))
	for _, s := range secrets {
		if s != "" {
			kept = append(kept, s)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return len(kept[i]) > len(kept[j]) })
	return Redactor{mark: mark, secrets: kept}
}

// With returns a Redactor that hides secret as well; r is unchanged.
func (r Redactor) With(secret string) Redactor {
	n := len(r.secrets)
	return NewRedactor(r.mark, append(r.secrets[:n:n], secret)...) // [:n:n]: append copies
}

// Redact returns s with every secret replaced by the mark, and with the value of every
// "secret=" option hidden too: rbd map options, libvirt and qemu option strings carry keys
// that way, and a key typed into the wrong parameter is still a key.
func (r Redactor) Redact(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, r.mark)
	}
	if r.mark != "" {
		s = hideInlineSecrets(s, r.mark)
		s = cephxKey.ReplaceAllString(s, r.mark)
	}
	return s
}

// Line is s as a log line may carry it: redacted, then one bounded line of valid UTF-8
// (see Line).
func (r Redactor) Line(s string) string { return Line(r.Redact(s)) }

// cephxKey matches a cephx secret as keyrings and `ceph auth get-key` write it: base64 of 28
// bytes (type 1, creation time, length, 16 random bytes), so "AQ", 36 more characters and
// "==". Such a string is hidden wherever it appears, whichever parameter carried it.
var cephxKey = regexp.MustCompile(`AQ[A-Za-z0-9+/]{36}==`)

// inlineSecretKey introduces a value that is a key whatever parameter it came in.
const inlineSecretKey = "secret="

// hideInlineSecrets replaces the value after each "secret=" (up to a blank, comma,
// semicolon or quote) with mark.
func hideInlineSecrets(s, mark string) string {
	if !strings.Contains(s, inlineSecretKey) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, inlineSecretKey)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		start := i + len(inlineSecretKey)
		end := start
		for end < len(s) && !strings.ContainsRune(" \t\n,;\"'`\\", rune(s[end])) {
			end++
		}
		b.WriteString(s[:start])
		switch value := s[start:end]; {
		case value == "", value == mark, strings.HasPrefix(value, "<") && strings.HasSuffix(value, ">"):
			b.WriteString(value) // nothing, or a placeholder such as <hidden>
		default:
			b.WriteString(mark)
		}
		s = s[end:]
	}
}
