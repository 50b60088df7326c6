package krbd

import (
	"errors"
	"strings"
	"testing"
)

func TestSpec(t *testing.T) {
	for _, c := range []struct {
		spec Spec
		str  string
		bad  string // part of the Check error, "" when valid
	}{
		{Spec{Pool: "rbd", Image: "vm1"}, "rbd/vm1", ""},
		{Spec{Pool: "rbd", Namespace: "ns", Image: "vm1", Snap: "s1"}, "rbd/ns/vm1@s1", ""},
		{Spec{Pool: "", Image: "vm1"}, "/vm1", "pool name is empty"},
		{Spec{Pool: "rbd"}, "rbd/", "image name is empty"},
		{Spec{Pool: "rbd", Image: "a b"}, "", "blank"},
		{Spec{Pool: "rbd", Image: "a/b"}, "", "contains /"},
		{Spec{Pool: "..", Image: "x"}, "", "not allowed"},
		{Spec{Pool: "rbd", Image: "."}, "", "not allowed"},
		{Spec{Pool: "rbd", Image: "a@b"}, "", "contains @"},
		{Spec{Pool: "rbd", Namespace: "n@", Image: "a"}, "", "contains @"},
		{Spec{Pool: "rbd", Image: "a", Snap: "-"}, "", "not a snapshot name"},
		{Spec{Pool: "rbd", Image: "a\x00"}, "", "control"},
		{Spec{Pool: "rbd", Image: "\xff"}, "", "UTF-8"},
		{Spec{Pool: "rbd", Image: strings.Repeat("x", 2000)}, "", "longer"},
	} {
		err := c.spec.Check()
		if c.bad == "" && err != nil || c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)) {
			t.Errorf("%#v: Check() = %v, want %q", c.spec, err, c.bad)
		}
		if c.str != "" && c.spec.String() != c.str {
			t.Errorf("%#v: String() = %q", c.spec, c.spec.String())
		}
	}
	// The error says which name is wrong, so that callers can name their setting.
	var ne *NameError
	if err := (Spec{Pool: "rbd", Namespace: "a/b", Image: "i"}).Check(); !errors.As(err, &ne) || ne.Field != "namespace" {
		t.Errorf("namespace error %v", err)
	}
	if err := (Spec{Pool: "rbd", Image: "i", Snap: "-"}).Check(); !errors.As(err, &ne) || ne.Field != "snapshot" {
		t.Errorf("snapshot error %v", err)
	}
	if got := (Spec{Pool: "p", Image: "i", Snap: "s"}).ImageSpec(); got != "p/i" {
		t.Error(got)
	}
}
