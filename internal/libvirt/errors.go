package libvirt

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// Kinds of failure callers act on. Match them with errors.Is.
var (
	// ErrNotFound: libvirtd answered that the domain, secret, storage pool
	// or network does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnreachable: libvirtd could not be reached, the connection broke,
	// or no answer came before the context ended. Nothing is known about
	// the object the call was about.
	ErrUnreachable = errors.New("libvirtd unreachable")
	// ErrInvalidOperation: libvirtd refused the call in the object's current
	// state, e.g. destroying or shutting down a domain that is not running.
	ErrInvalidOperation = errors.New("operation invalid in the current state")
	// ErrUnsupported: the daemon or its driver does not implement the call.
	ErrUnsupported = errors.New("not supported by libvirtd")
)

// Error is a failed call: the operation, its kind (one of the Err* values
// above, or nil), libvirt's error code when libvirtd sent one, and the cause.
type Error struct {
	Op   string
	Kind error
	Code int // libvirt's virErrorNumber; 0 when the failure did not come from libvirtd
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Op + ": " + e.Kind.Error()
	}
	return e.Op + ": " + boundedText(e.Err.Error())
}

// causeLimit bounds the cause an Error quotes. libvirtd's messages repeat
// what they were given (a domain name of any length, any bytes), and the
// message reaches a log line.
const causeLimit = 300

// boundedText escapes control characters and invalid UTF-8 in s and cuts
// it to about causeLimit bytes.
func boundedText(s string) string {
	if len(s) <= causeLimit && utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	q := strconv.Quote(s)
	q = q[1 : len(q)-1]
	if len(q) <= causeLimit {
		return q
	}
	cut := causeLimit
	for cut > 0 && !utf8.RuneStart(q[cut]) {
		cut--
	}
	return q[:cut] + "..."
}

// Unwrap exposes both the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Code returns the libvirt error number carried by err, or 0.
func Code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// notFoundCodes are libvirt's "no such object" errors.
var notFoundCodes = map[golibvirt.ErrorNumber]bool{
	golibvirt.ErrNoDomain:      true,
	golibvirt.ErrNoNetwork:     true,
	golibvirt.ErrNoStoragePool: true,
	golibvirt.ErrNoStorageVol:  true,
	golibvirt.ErrNoSecret:      true,
}

// classify wraps the error of a completed call. A libvirt error carries its
// code; anything else that go-libvirt returns (a closed or broken socket, an
// interrupted call) means the daemon is not reachable through this
// connection.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var lerr golibvirt.Error
	if errors.As(err, &lerr) {
		code := golibvirt.ErrorNumber(lerr.Code)
		e := &Error{Op: op, Code: int(code), Err: err}
		switch {
		case notFoundCodes[code]:
			e.Kind = ErrNotFound
		case code == golibvirt.ErrOperationInvalid:
			e.Kind = ErrInvalidOperation
		case code == golibvirt.ErrNoSupport, code == golibvirt.ErrOperationUnsupported,
			code == golibvirt.ErrArgumentUnsupported:
			e.Kind = ErrUnsupported
		}
		return e
	}
	if errors.Is(err, golibvirt.ErrUnsupported) {
		return &Error{Op: op, Kind: ErrUnsupported, Err: err}
	}
	return &Error{Op: op, Kind: ErrUnreachable, Err: err}
}

// abandoned is the error of a call whose context ended first.
func abandoned(op string, ctxErr error) error {
	return &Error{Op: op, Kind: ErrUnreachable,
		Err: fmt.Errorf("no answer from libvirtd in time: %w", ctxErr)}
}

// IsTimeout reports whether err is a call abandoned because its context ended.
func IsTimeout(err error) bool {
	return errors.Is(err, ErrUnreachable) &&
		(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled))
}
