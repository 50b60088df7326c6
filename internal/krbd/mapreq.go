package krbd

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// MapRequest is what a krbd map writes to add_single_major.
type MapRequest struct {
	// Monitors is the monitor list as KernelMonitors makes it.
	Monitors string
	User     string // cephx id, without "client."
	Secret   Secret
	Spec     Spec
	// Options are further kernel options, each "key" or "key=value"
	// (read_only, queue_depth=128, alloc_size=65536, exclusive, ...).
	Options []string
}

// reservedOptions are set from the request's own fields, or would put a
// key where it does not belong; map_options may not set them.
var reservedOptions = map[string]string{
	"name":     "the user parameter sets the cephx id",
	"secret":   "the key comes from the secret parameter or the keyring",
	"key":      "the key comes from the secret parameter or the keyring",
	"_pool_ns": "the pool_namespace parameter sets the namespace",
}

// CheckOptions checks a comma-separated kernel option list (map_options)
// and splits it: each option is key or key=value, printable, without
// blanks, and not one the agent sets itself.
func CheckOptions(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	var opts []string
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		key, _, _ := strings.Cut(o, "=")
		// Reserved names first, and without their values: "secret=<key>" must be refused
		// without the key showing up in the reason.
		if why, ok := reservedOptions[strings.TrimLeft(key, "-")]; ok {
			return nil, fmt.Errorf("map option %s is not allowed: %s", strings.TrimLeft(key, "-"), why)
		}
		if err := checkName(o); err != nil {
			return nil, fmt.Errorf("map option %q %v", agentlog.Clip(o), err)
		}
		if key == "" {
			return nil, fmt.Errorf("map option %q has no name", agentlog.Clip(o))
		}
		if strings.HasPrefix(key, "-") {
			return nil, fmt.Errorf("map option %q: give options without dashes", agentlog.Clip(o))
		}
		opts = append(opts, o)
	}
	return opts, nil
}

// HasOption reports whether options set key (as "key" or "key=...").
func HasOption(options []string, key string) bool {
	for _, o := range options {
		if k, _, _ := strings.Cut(o, "="); k == key {
			return true
		}
	}
	return false
}

// encode builds the text written to the kernel. It holds the key: the
// caller wipes it after the write and never logs it.
func (r MapRequest) encode() ([]byte, error) {
	if r.Monitors == "" || strings.ContainsAny(r.Monitors, " \t\n") {
		return nil, errors.New("map request: bad monitor list")
	}
	if err := r.Spec.Check(); err != nil {
		return nil, fmt.Errorf("map request: %w", err)
	}
	if r.User == "" || checkName(r.User) != nil || strings.ContainsAny(r.User, ",=") {
		return nil, errors.New("map request: bad cephx user name")
	}
	if r.Secret.IsZero() {
		return nil, errors.New("map request: no cephx key")
	}
	for _, o := range r.Options {
		if checkName(o) != nil || strings.Contains(o, ",") {
			return nil, fmt.Errorf("map request: bad option %q", agentlog.Clip(o))
		}
	}
	// Sized up front: a buffer that grows leaves copies of the key behind.
	size := len(r.Monitors) + len(r.User) + len(r.Secret.b) + len(r.Spec.Namespace) +
		len(r.Spec.Pool) + len(r.Spec.Image) + len(r.Spec.Snap) + 64
	for _, o := range r.Options {
		size += len(o) + 1
	}
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString(r.Monitors)
	b.WriteString(" name=")
	b.WriteString(r.User)
	b.WriteString(",secret=")
	b.Write(r.Secret.b)
	if r.Spec.Namespace != "" {
		b.WriteString(",_pool_ns=")
		b.WriteString(r.Spec.Namespace)
	}
	for _, o := range r.Options {
		b.WriteByte(',')
		b.WriteString(o)
	}
	b.WriteByte(' ')
	b.WriteString(r.Spec.Pool)
	b.WriteByte(' ')
	b.WriteString(r.Spec.Image)
	b.WriteByte(' ')
	if r.Spec.Snap != "" {
		b.WriteString(r.Spec.Snap)
	} else {
		b.WriteString(headSnap)
	}
	return b.Bytes(), nil
}

// String describes the request for logs, without the key.
func (r MapRequest) String() string {
	opts := append([]string{"name=" + r.User, "secret=<hidden>"}, r.Options...)
	if r.Spec.Namespace != "" {
		opts = append(opts, "_pool_ns="+r.Spec.Namespace)
	}
	snap := r.Spec.Snap
	if snap == "" {
		snap = headSnap
	}
	return fmt.Sprintf("%s %s %s %s %s", r.Monitors, strings.Join(opts, ","), r.Spec.Pool, r.Spec.Image, snap)
}
