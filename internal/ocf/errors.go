package ocf

import (
	"context"
	"errors"
	"fmt"
)

// Error is the error type actions return to choose a specific exit code.
// Reason becomes the ocf-exit-reason line that Pacemaker shows in crm_mon.
type Error struct {
	Code   ExitCode
	Reason string
	// Err is the wrapped cause (set by Errorf when its format has %w).
	Err error
}

func (e *Error) Error() string {
	if e.Reason == "" {
		return e.Code.Description()
	}
	return e.Reason
}

// Unwrap exposes the wrapped cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given exit code and a formatted reason.
// Like fmt.Errorf, a %w verb wraps its operand so errors.Is keeps working.
func Errorf(code ExitCode, format string, args ...any) error {
	formatted := fmt.Errorf(format, args...)
	e := &Error{Code: code, Reason: formatted.Error()}
	switch formatted.(type) {
	case interface{ Unwrap() error }, interface{ Unwrap() []error }:
		// Keep fmt's wrapper so every %w operand stays reachable.
		e.Err = formatted
	}
	return e
}

// ParamErrorf is a configuration error about one parameter: ErrConfigured, with a reason
// that begins with the parameter's name, so the operator sees which one to fix. Quote the
// value with agentlog.Clip, never whole: it may be 100 kB or hold a newline.
func ParamErrorf(name, format string, args ...any) error {
	return Errorf(ErrConfigured, "%s: %w", name, fmt.Errorf(format, args...))
}

// Exit returns an error carrying only an exit code. Monitors use it to report
// a state without a reason, e.g. `return ocf.Exit(ocf.NotRunning)`.
func Exit(code ExitCode) error {
	return &Error{Code: code}
}

// CodeOf maps an action's return value to an exit code: nil is Success, an
// *Error anywhere in the chain carries its own code, and everything else -
// including context.DeadlineExceeded - is ErrGeneric, the soft failure that
// lets Pacemaker retry or recover the resource.
func CodeOf(err error) ExitCode {
	if err == nil {
		return Success
	}
	var oe *Error
	if errors.As(err, &oe) {
		if !oe.Code.Valid() {
			return ErrGeneric
		}
		return oe.Code
	}
	return ErrGeneric
}

// reasonOf extracts the human reason for err. An *Error with no reason yields
// "" so state codes stay quiet; a deadline error says the action ran out of
// time, because the bare "context deadline exceeded" means little to an admin.
func reasonOf(err error, action string) string {
	if err == nil {
		return ""
	}
	var oe *Error
	if errors.As(err, &oe) {
		if oe.Reason == "" {
			return ""
		}
		return err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		if err == context.DeadlineExceeded {
			return action + " ran out of time"
		}
		return action + " ran out of time: " + err.Error()
	}
	return err.Error()
}
