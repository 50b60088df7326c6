package agentlog

import (
	"errors"
	"testing"
)

func TestJoinErrors(t *testing.T) {
	a, b := errors.New("a"), errors.New("b\nc")
	if got := JoinErrors(a, nil, b); got != "a; b; c" {
		t.Fatalf("%q", got)
	}
	if got := JoinErrors(errors.Join(a, b)); got != "a; b; c" {
		t.Fatalf("joined: %q", got)
	}
	if got := JoinErrors(); got != "" {
		t.Fatalf("none: %q", got)
	}
}
