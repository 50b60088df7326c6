package ocf

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFormatExitReason(t *testing.T) {
	cases := map[string]string{
		"simple":                       "simple",
		"two\nlines":                   "two lines",
		"  padded\r\n\ttabs  ":         "padded tabs",
		"bell\x07and\x00nul":           "bell and nul",
		"bad utf8 \xff here":           "bad utf8 \uFFFD here",
		"quoting ocf-exit-reason:oops": "quoting ocf-exit-reason=oops",
		"":                             "",
	}
	for in, want := range cases {
		if got := formatExitReason(in); got != want {
			t.Errorf("formatExitReason(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatExitReasonCapsLengthOnRuneBoundary(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	got := formatExitReason(long)
	if len(got) > maxExitReasonBytes || !utf8.ValidString(got) {
		t.Fatalf("len %d valid %v", len(got), utf8.ValidString(got))
	}
	if len(got) != 128 {
		t.Errorf("want 64 whole runes (128 bytes), got %d bytes", len(got))
	}
	odd := "a" + long
	if got := formatExitReason(odd); len(got) != 127 || !utf8.ValidString(got) {
		t.Errorf("odd offset: len %d", len(got))
	}
}

func TestWriteExitReason(t *testing.T) {
	var b strings.Builder
	writeExitReason(&b, "disk\nfull")
	if b.String() != "ocf-exit-reason:disk full\n" {
		t.Errorf("got %q", b.String())
	}
}
