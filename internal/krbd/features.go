package krbd

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Features is an RBD feature mask, as librbd reports an image's features
// and as the kernel prints them in sysfs.
type Features uint64

// The RBD feature bits (librbd's RBD_FEATURE_*).
const (
	Layering      Features = 1 << 0
	StripingV2    Features = 1 << 1
	ExclusiveLock Features = 1 << 2
	ObjectMap     Features = 1 << 3
	FastDiff      Features = 1 << 4
	DeepFlatten   Features = 1 << 5
	Journaling    Features = 1 << 6
	DataPool      Features = 1 << 7
	Operations    Features = 1 << 8
	Migrating     Features = 1 << 9
	NonPrimary    Features = 1 << 10
	DirtyCache    Features = 1 << 11
)

// featureNames are the names rbd uses for each bit, in bit order.
var featureNames = []struct {
	bit  Features
	name string
	// disable is whether "rbd feature disable" can remove the feature
	// from an existing image.
	disable bool
}{
	{Layering, "layering", false},
	{StripingV2, "striping", false},
	{ExclusiveLock, "exclusive-lock", true},
	{ObjectMap, "object-map", true},
	{FastDiff, "fast-diff", true},
	{DeepFlatten, "deep-flatten", true},
	{Journaling, "journaling", true},
	{DataPool, "data-pool", false},
	{Operations, "operations", false},
	{Migrating, "migrating", false},
	{NonPrimary, "non-primary", false},
	{DirtyCache, "dirty-cache", false},
}

// ParseFeatures reads a mask as the kernel prints it: hexadecimal with
// "0x" ("0x1bf" in supported_features, "0x000000000000003d" in a device's
// features), with or without the trailing newline.
func ParseFeatures(s string) (Features, error) {
	t := strings.TrimSpace(s)
	hex, ok := strings.CutPrefix(t, "0x")
	if !ok {
		return 0, fmt.Errorf("feature mask %q does not start with 0x", agentlog.Clip(s))
	}
	n, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("feature mask %q is not a hexadecimal number", agentlog.Clip(s))
	}
	return Features(n), nil
}

// Names lists the features by name in bit order; bits without a name show
// as hexadecimal masks.
func (f Features) Names() []string {
	var names []string
	for _, fn := range featureNames {
		if f&fn.bit != 0 {
			names = append(names, fn.name)
			f &^= fn.bit
		}
	}
	for bit := Features(1); f != 0; bit <<= 1 {
		if f&bit != 0 {
			names = append(names, "0x"+strconv.FormatUint(uint64(bit), 16))
			f &^= bit
		}
	}
	return names
}

// String is the names joined by ", ", or "none".
func (f Features) String() string {
	if f == 0 {
		return "none"
	}
	return strings.Join(f.Names(), ", ")
}

// Disableable is the part of f that "rbd feature disable" can remove.
func (f Features) Disableable() Features {
	var d Features
	for _, fn := range featureNames {
		if fn.disable {
			d |= fn.bit
		}
	}
	return f & d
}

// dependents lists the features that need another one: disabling the
// latter means disabling the former too.
var dependents = map[Features]Features{
	ExclusiveLock: ObjectMap | FastDiff | Journaling,
	ObjectMap:     FastDiff,
}

// UnsupportedError says that the kernel cannot map an image because of
// some of its features, and how to fix it.
type UnsupportedError struct {
	Spec        Spec
	Unsupported Features // image features the kernel lacks
}

// Error is short, fix first: Pacemaker keeps 128 bytes of an exit reason.
func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s: kernel rbd lacks %s; %s", e.Spec.ImageSpec(), e.Unsupported, e.Fix())
}

// Fix says what the operator can do: disable what can be disabled (with the
// features that depend on it), or use rbd-nbd.
func (e *UnsupportedError) Fix() string {
	fixable := e.Unsupported.Disableable()
	rest := e.Unsupported &^ fixable
	var fix []string
	if fixable != 0 {
		off := fixable
		for f, deps := range dependents {
			if off&f != 0 {
				off |= deps
			}
		}
		// Dependents first, so the command reads in the order librbd needs.
		names := reverse(off.Names())
		fix = append(fix, fmt.Sprintf("run 'rbd feature disable %s %s'", e.Spec.ImageSpec(), strings.Join(names, " ")))
	}
	if rest != 0 {
		fix = append(fix, fmt.Sprintf("%s cannot be disabled", rest))
	}
	return strings.Join(fix, "; ") + " or use driver=nbd"
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
