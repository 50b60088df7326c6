package krbd

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Spec names what a device maps: an image, or a snapshot of it, in a pool
// and optionally a namespace.
type Spec struct {
	Pool      string
	Namespace string // "" is the pool's default namespace
	Image     string
	Snap      string // "" is the image itself (the kernel shows "-")
}

// String is the spec as rbd writes it: pool[/namespace]/image[@snap].
func (s Spec) String() string {
	var b strings.Builder
	b.WriteString(s.Pool)
	b.WriteByte('/')
	if s.Namespace != "" {
		b.WriteString(s.Namespace)
		b.WriteByte('/')
	}
	b.WriteString(s.Image)
	if s.Snap != "" {
		b.WriteByte('@')
		b.WriteString(s.Snap)
	}
	return b.String()
}

// ImageSpec is String without the snapshot: what "rbd feature" commands take.
func (s Spec) ImageSpec() string {
	s.Snap = ""
	return s.String()
}

// headSnap is how the kernel names "no snapshot" in current_snap and in a
// map request.
const headSnap = "-"

// maxNameLen bounds each name; RBD names are far shorter in practice
// (the kernel takes pool and image names up to a page).
const maxNameLen = 1024

// NameError is a name of a Spec that cannot be mapped; Field says which name it is, so
// that a caller can name the setting it came from.
type NameError struct {
	Field string // "pool", "namespace", "image" or "snapshot"
	msg   string
}

func (e *NameError) Error() string { return e.msg }

// Check reports why the spec cannot be mapped and linked (a *NameError): names must be
// non-empty (the namespace and snapshot may be empty), printable and free of
// blanks (a map request separates its fields by blanks), and none of them
// may contain "/" or be "." or ".." (they become path elements of the
// /dev/rbd link); the image and namespace may not contain "@", the snapshot
// separator, and "-" is not a snapshot name (it means "no snapshot").
func (s Spec) Check() error {
	for _, f := range []struct {
		what, v  string
		optional bool
	}{
		{"pool", s.Pool, false},
		{"namespace", s.Namespace, true},
		{"image", s.Image, false},
		{"snapshot", s.Snap, true},
	} {
		if f.v == "" {
			if f.optional {
				continue
			}
			return &NameError{f.what, fmt.Sprintf("the %s name is empty", f.what)}
		}
		if err := checkName(f.v); err != nil {
			return &NameError{f.what, fmt.Sprintf("the %s name %q %v", f.what, agentlog.Clip(f.v), err)}
		}
		if f.what != "snapshot" && strings.Contains(f.v, "@") {
			return &NameError{f.what, fmt.Sprintf("the %s name %q contains @", f.what, agentlog.Clip(f.v))}
		}
	}
	if s.Snap == headSnap {
		return &NameError{"snapshot", `"-" is not a snapshot name: it means the image itself`}
	}
	return nil
}

func checkName(v string) error {
	switch {
	case len(v) > maxNameLen:
		return fmt.Errorf("is longer than %d bytes", maxNameLen)
	case !utf8.ValidString(v):
		return fmt.Errorf("is not valid UTF-8")
	case v == "." || v == "..":
		return fmt.Errorf("is not allowed")
	case strings.Contains(v, "/"):
		return fmt.Errorf("contains /")
	}
	for _, r := range v {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("contains a blank or control character")
		}
	}
	return nil
}
