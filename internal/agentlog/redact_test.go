package agentlog

import (
	"sync"
	"testing"
)

func TestRedactLongestFirst(t *testing.T) {
	r := NewRedactor("***", "abc", "", "abcdef")
	if got := r.Redact("x abcdef y abc z"); got != "x *** y *** z" {
		t.Errorf("got %q", got)
	}
}

func TestRedactWithLeavesOriginal(t *testing.T) {
	base := NewRedactor("#", "abc")
	more := base.With("abcdef").With("")
	if got := more.Redact("abcdef abc"); got != "# #" {
		t.Errorf("extended: %q", got)
	}
	if got := base.Redact("abcdef abc"); got != "#def #" {
		t.Errorf("original changed: %q", got)
	}
}

func TestZeroRedactorHidesNothing(t *testing.T) {
	var r Redactor
	if got := r.Redact("password"); got != "password" {
		t.Errorf("got %q", got)
	}
}

// A Redactor is shared by every goroutine of an action; run with -race.
func TestRedactorConcurrentUse(t *testing.T) {
	base := NewRedactor("*", "one", "", "two") // spare capacity: With must still copy
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := base.With("three")
			if got := r.Redact("one two three"); got != "* * *" {
				t.Errorf("got %q", got)
			}
			_ = base.Redact("one")
		}()
	}
	wg.Wait()
}

func TestRedactInlineSecret(t *testing.T) {
	r := NewRedactor("****")
	for in, want := range map[string]string{
		"map option secret=AQB123== refused": "map option secret=**** refused",
		`"secret=abc,noshare"`:               `"secret=****,noshare"`,
		"secret=":                            "secret=",
		"no key here":                        "no key here",
	} {
		if got := r.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactCephxKeyAnywhere(t *testing.T) {
	r := NewRedactor("****")
	key := "AQBr0x1kAAAAABAAhHZ1bJ6Px7s3S3IQpHaZ6w=="
	if got := r.Redact(`node secret: "` + key + `" is not an IP address`); got != `node secret: "****" is not an IP address` {
		t.Errorf("Redact = %q", got)
	}
}
