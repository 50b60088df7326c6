package agentlog

import (
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

// Redact returns s with every secret replaced by the mark.
func (r Redactor) Redact(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, r.mark)
	}
	return s
}
