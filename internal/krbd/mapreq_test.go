package krbd

import (
	"strings"
	"testing"
)

func TestMapRequestEncode(t *testing.T) {
	r := MapRequest{Monitors: "10.0.0.1:6789,10.0.0.2:6789", User: "kvmha", Secret: Secret{b: []byte(testKey)},
		Spec: Spec{Pool: "rbd", Namespace: "ns", Image: "vm1"}, Options: []string{"queue_depth=128", "ro"}}
	b, err := r.encode()
	if err != nil {
		t.Fatal(err)
	}
	want := "10.0.0.1:6789,10.0.0.2:6789 name=kvmha,secret=" + testKey + ",_pool_ns=ns,queue_depth=128,ro rbd vm1 -"
	if string(b) != want {
		t.Fatalf("%q\nwant %q", b, want)
	}
	r.Spec.Snap = "s1"
	if b, _ := r.encode(); !strings.HasSuffix(string(b), " rbd vm1 s1") {
		t.Fatal(string(b))
	}
	if s := r.String(); strings.Contains(s, testKey) || !strings.Contains(s, "secret=<hidden>") {
		t.Fatal(s)
	}
	for _, bad := range []MapRequest{
		{User: "u", Secret: r.Secret, Spec: r.Spec},
		{Monitors: "a b", User: "u", Secret: r.Secret, Spec: r.Spec},
		{Monitors: "m", User: "", Secret: r.Secret, Spec: r.Spec},
		{Monitors: "m", User: "a,b", Secret: r.Secret, Spec: r.Spec},
		{Monitors: "m", User: "u", Spec: r.Spec},
		{Monitors: "m", User: "u", Secret: r.Secret, Spec: Spec{Pool: "p"}},
		{Monitors: "m", User: "u", Secret: r.Secret, Spec: r.Spec, Options: []string{"a b"}},
		{Monitors: "m", User: "u", Secret: r.Secret, Spec: r.Spec, Options: []string{"a,b"}},
	} {
		if _, err := bad.encode(); err == nil {
			t.Errorf("%s: encoded", bad)
		} else if strings.Contains(err.Error(), testKey) {
			t.Error("error shows the key")
		}
	}
}

func TestCheckOptions(t *testing.T) {
	got, err := CheckOptions(" queue_depth=128, alloc_size=65536,,notrim ")
	if err != nil || strings.Join(got, "|") != "queue_depth=128|alloc_size=65536|notrim" {
		t.Fatal(got, err)
	}
	if got, err := CheckOptions(""); err != nil || got != nil {
		t.Fatal(got, err)
	}
	for _, bad := range []string{"secret=x", "name=a", "key=k", "_pool_ns=n", "=1", "a b", "a\tb"} {
		if _, err := CheckOptions(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// A key in map_options is refused without being quoted, however it is written.
	for _, bad := range []string{"secret=" + testKey, "ro,secret=" + testKey + " x", "--secret=" + testKey, "key=" + testKey + "\n"} {
		_, err := CheckOptions(bad)
		if err == nil || strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), "AQB") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if !HasOption([]string{"ro", "ms_mode=crc"}, "ms_mode") || HasOption([]string{"ro"}, "r") {
		t.Fatal("HasOption")
	}
}
