package ocf

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestExitCodeValues(t *testing.T) {
	// The numbers are the contract with Pacemaker; pin every one.
	want := map[ExitCode]int{Success: 0, ErrGeneric: 1, ErrArgs: 2, ErrUnimplemented: 3, ErrPerm: 4,
		ErrInstalled: 5, ErrConfigured: 6, NotRunning: 7, RunningPromoted: 8, FailedPromoted: 9,
		Degraded: 190, DegradedPromoted: 191}
	if len(want) != len(exitCodeInfo) {
		t.Fatalf("exitCodeInfo has %d codes, want %d", len(exitCodeInfo), len(want))
	}
	for code, n := range want {
		if int(code) != n || !code.Valid() {
			t.Errorf("%s = %d (valid %v), want %d", code, int(code), code.Valid(), n)
		}
	}
}

func TestExitCodeNames(t *testing.T) {
	for code, s := range map[ExitCode]string{NotRunning: "OCF_NOT_RUNNING", DegradedPromoted: "OCF_DEGRADED_PROMOTED", 42: "OCF_EXIT_42"} {
		if code.String() != s {
			t.Errorf("%d.String() = %q, want %q", int(code), code.String(), s)
		}
	}
	if ExitCode(42).Valid() || ExitCode(42).Description() != "unknown exit code 42" {
		t.Error("42 should be invalid")
	}
	for _, c := range []ExitCode{Success, NotRunning, RunningPromoted, Degraded, DegradedPromoted} {
		if !c.IsState() {
			t.Errorf("%s should be a state", c)
		}
	}
	for _, c := range []ExitCode{ErrGeneric, ErrArgs, ErrUnimplemented, ErrPerm, ErrInstalled, ErrConfigured, FailedPromoted} {
		if c.IsState() {
			t.Errorf("%s should be a failure", c)
		}
	}
}

func TestCodeOf(t *testing.T) {
	inner := Errorf(ErrPerm, "denied")
	cases := []struct {
		err  error
		want ExitCode
	}{
		{nil, Success},
		{Exit(NotRunning), NotRunning},
		{Errorf(ErrInstalled, "x"), ErrInstalled},
		{fmt.Errorf("outer: %w", inner), ErrPerm},
		{errors.New("plain"), ErrGeneric},
		{context.DeadlineExceeded, ErrGeneric},
		{context.Canceled, ErrGeneric},
		{&Error{Code: 77}, ErrGeneric},
	}
	for _, c := range cases {
		if got := CodeOf(c.err); got != c.want {
			t.Errorf("CodeOf(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}

func TestErrorfWrapsAndFormats(t *testing.T) {
	base := errors.New("connection refused")
	err := Errorf(ErrGeneric, "cannot reach libvirtd: %w", base)
	if !errors.Is(err, base) {
		t.Error("errors.Is lost the %w operand")
	}
	if err.Error() != "cannot reach libvirtd: connection refused" {
		t.Errorf("message %q", err)
	}
	var oe *Error
	if !errors.As(err, &oe) || oe.Code != ErrGeneric {
		t.Error("not an *Error")
	}
	two := Errorf(ErrGeneric, "%w and %w", base, context.Canceled)
	if !errors.Is(two, base) || !errors.Is(two, context.Canceled) {
		t.Error("multiple %w operands lost")
	}
	if plain := Errorf(ErrArgs, "no wrap %d", 1).(*Error); plain.Err != nil || plain.Reason != "no wrap 1" {
		t.Errorf("unexpected %+v", plain)
	}
	if Exit(NotRunning).Error() != "not running" {
		t.Error("Exit error text should describe the code")
	}
}

func TestReasonOf(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{Exit(NotRunning), ""},
		{Errorf(ErrPerm, "denied"), "denied"},
		{errors.New("plain"), "plain"},
		{context.DeadlineExceeded, "stop ran out of time"},
		{fmt.Errorf("virsh: %w", context.DeadlineExceeded), "stop ran out of time: virsh: context deadline exceeded"},
		{fmt.Errorf("wrapped: %w", Errorf(ErrPerm, "denied")), "wrapped: denied"},
	}
	for _, c := range cases {
		if got := reasonOf(c.err, "stop"); got != c.want {
			t.Errorf("reasonOf(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
