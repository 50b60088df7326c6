package heartbeat

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Backend kinds, as URI schemes.
const (
	SchemeRADOS = "rados"
	SchemeFile  = "file"
	SchemeBlock = "block"
)

// Spec is one parsed backend URI:
//
//	rados://POOL[/NAMESPACE]   an object per host in a RADOS pool (and namespace)
//	file:///DIR                a file per host in DIR, on a shared filesystem
//	block:///dev/DEVICE        a slot per host on a shared block device
type Spec struct {
	Scheme    string
	Pool      string // rados
	Namespace string // rados, may be empty
	Path      string // file and block: an absolute, clean path
}

// String is the canonical URI; hosts compare backends by it.
func (s Spec) String() string {
	switch s.Scheme {
	case SchemeRADOS:
		if s.Namespace != "" {
			return "rados://" + s.Pool + "/" + s.Namespace
		}
		return "rados://" + s.Pool
	default:
		return s.Scheme + "://" + s.Path
	}
}

var poolNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-][A-Za-z0-9_.+-]{0,127}$`)

// ParseBackends reads a list of backend URIs separated by spaces or commas.
// Duplicates (after canonicalisation) are an error: a backend counted twice
// would fake a quorum.
func ParseBackends(list string) ([]Spec, error) {
	fields := strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(fields) == 0 {
		return nil, fmt.Errorf("no backend given")
	}
	if len(fields) > maxBackends {
		return nil, fmt.Errorf("%d backends, at most %d", len(fields), maxBackends)
	}
	seen := map[string]bool{}
	var out []Spec
	for _, f := range fields {
		s, err := ParseBackend(f)
		if err != nil {
			return nil, err
		}
		if seen[s.String()] {
			return nil, fmt.Errorf("backend %s is listed twice", s)
		}
		seen[s.String()] = true
		out = append(out, s)
	}
	return out, nil
}

// ParseBackend reads one backend URI.
func ParseBackend(uri string) (Spec, error) {
	bad := func(why string) (Spec, error) {
		return Spec{}, fmt.Errorf("backend %q: %s", agentlog.Clip(uri), why)
	}
	if len(uri) > maxURI {
		return bad("too long")
	}
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return bad("not a URI (rados://pool[/namespace], file:///dir or block:///dev/device)")
	}
	s := Spec{Scheme: strings.ToLower(scheme)}
	switch s.Scheme {
	case SchemeRADOS:
		rest = strings.TrimSuffix(rest, "/")
		pool, ns, _ := strings.Cut(rest, "/")
		if !poolNameRE.MatchString(pool) || (ns != "" && !poolNameRE.MatchString(ns)) {
			return bad("want rados://pool or rados://pool/namespace")
		}
		s.Pool, s.Namespace = pool, ns
	case SchemeFile, SchemeBlock:
		if !strings.HasPrefix(rest, "/") {
			return bad("the path must be absolute (three slashes: " + s.Scheme + ":///path)")
		}
		if strings.ContainsAny(rest, "?#\x00") {
			return bad("query, fragment or NUL in the path")
		}
		s.Path = filepath.Clean(rest)
		if s.Path == "/" {
			return bad("the root directory is no backend")
		}
	default:
		return bad("unknown scheme " + agentlog.Clip(scheme))
	}
	return s, nil
}

// Opener opens the backend a spec names.
type Opener func(ctx context.Context, s Spec) (Backend, error)

// OpenLocal opens file and block backends, guarded (see Guard). Opening
// does no I/O that may hang: the first call does.
func OpenLocal(_ context.Context, s Spec) (Backend, error) {
	switch s.Scheme {
	case SchemeFile:
		return Guard(newFileBackend(s)), nil
	case SchemeBlock:
		return Guard(newBlockBackend(s)), nil
	}
	return nil, fmt.Errorf("backend %s: this program cannot open %s backends", s, s.Scheme)
}

// OpenAll opens every spec; on an error the ones opened are closed.
func OpenAll(ctx context.Context, specs []Spec, open Opener) ([]Backend, error) {
	var out []Backend
	for _, s := range specs {
		b, err := open(ctx, s)
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// URIs returns the canonical URIs of specs.
func URIs(specs []Spec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.String()
	}
	return out
}
