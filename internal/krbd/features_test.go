package krbd

import (
	"strings"
	"testing"
)

func TestParseFeatures(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Features
		ok   bool
	}{
		{"0x1bf\n", 0x1bf, true},
		{"0x000000000000003d", 0x3d, true},
		{"0x0", 0, true},
		{"1bf", 0, false},
		{"0x", 0, false},
		{"0xzz", 0, false},
		{"0x10000000000000000", 0, false},
		{"", 0, false},
	} {
		got, err := ParseFeatures(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseFeatures(%q) = %#x, %v", c.in, got, err)
		}
	}
}

func TestFeatureNames(t *testing.T) {
	if got := Features(0x3d).String(); got != "layering, exclusive-lock, object-map, fast-diff, deep-flatten" {
		t.Fatal(got)
	}
	if got := (Journaling | 1<<20).String(); got != "journaling, 0x100000" {
		t.Fatal(got)
	}
	if got := Features(0).String(); got != "none" {
		t.Fatal(got)
	}
}

func TestUnsupportedErrorFix(t *testing.T) {
	spec := Spec{Pool: "rbd", Namespace: "ns", Image: "vm1", Snap: "s"}
	e := &UnsupportedError{Spec: spec, Unsupported: Journaling}
	msg := e.Error()
	if len(msg) > 128 {
		t.Errorf("%q is longer than an exit reason", msg)
	}
	for _, want := range []string{"rbd/ns/vm1", "journaling", "'rbd feature disable rbd/ns/vm1 journaling'", "driver=nbd"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	// exclusive-lock drags its dependents along, dependents first
	e = &UnsupportedError{Spec: spec, Unsupported: ExclusiveLock}
	if !strings.Contains(e.Fix(), "rbd feature disable rbd/ns/vm1 journaling fast-diff object-map exclusive-lock") {
		t.Error(e.Fix())
	}
	// features that cannot be disabled
	e = &UnsupportedError{Spec: spec, Unsupported: DataPool | 1<<30}
	if fix := e.Fix(); strings.Contains(fix, "feature disable") || !strings.Contains(fix, "data-pool, 0x40000000 cannot be disabled") {
		t.Error(fix)
	}
}
