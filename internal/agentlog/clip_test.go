package agentlog

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                  "plain",
		"a\nb":                   `a\nb`,
		"\xff(":                  `\xff(`,
		strings.Repeat("x", 100): strings.Repeat("x", 64) + "...",
		strings.Repeat("é", 40):  strings.Repeat("é", 32) + "...",
	} {
		if got := Clip(in); got != want {
			t.Errorf("Clip(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLine(t *testing.T) {
	if got := Line("a\nb\x00c\xffd"); got != `a b c\xffd` {
		t.Errorf("Line = %q", got)
	}
	long := Line(strings.Repeat("é", 5000))
	if len(long) > LineLimit || !utf8.ValidString(long) || !strings.HasSuffix(long, "bytes cut)") {
		t.Errorf("long line: %d bytes, valid %v, ends %q", len(long), utf8.ValidString(long), long[len(long)-20:])
	}
}

func FuzzLine(f *testing.F) {
	f.Add("x\n\xff")
	f.Fuzz(func(t *testing.T, s string) {
		l := Line(s)
		if len(l) > LineLimit || !utf8.ValidString(l) || strings.ContainsAny(l, "\n\r") {
			t.Fatalf("Line(%q) = %q", s, l)
		}
		if c := Clip(s); !utf8.ValidString(c) || strings.ContainsAny(c, "\n\r") || len(c) > clipLimit+3 {
			t.Fatalf("Clip(%q) = %q", s, c)
		}
	})
}
