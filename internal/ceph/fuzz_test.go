package ceph

import (
	"context"
	"testing"
)

// Every parser of text that comes from Ceph or from an operator is fuzzed:
// it must never panic, and what it accepts must print back to something it
// accepts again, unchanged.

func FuzzParseEntityAddr(f *testing.F) {
	for _, s := range []string{"1.2.3.4:0/3282", "v1:1.2.3.4:6789/123", "[::1]:0/1", "fd00::1", "v2:[fd00::1]:3300/0",
		"any:10.0.0.1:0/7", "1.2.3.4:", "[::1", "v1:::1", "10.0.0.1:0/4294967295"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseEntityAddr(s)
		if err != nil {
			return
		}
		b, err := ParseEntityAddr(a.String())
		if err != nil || b != a {
			t.Fatalf("%q → %q → %+v, %v", s, a.String(), b, err)
		}
	})
}

func FuzzParseEntityAddrs(f *testing.F) {
	for _, s := range []string{"[v2:10.0.0.1:3300/0,v1:10.0.0.1:6789/0]", "[::1]", "127.0.0.1:0/1", "[,]", "[[]]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addrs, err := ParseEntityAddrs(s)
		if err == nil && len(addrs) == 0 {
			t.Fatalf("%q: no error and no address", s)
		}
	})
}

func FuzzDecodeBlocklist(f *testing.F) {
	for _, s := range []string{pacificLs, "", "[][]", `[{"addr":"1.2.3.4:0/1","until":"x"}]`,
		`[{"range":"cidr:10.0.0.0:0/8"}]`, `[{"range":"10.0.0.0:0/200"}]`, `[{"addr":"1.2.3.4:0/1"}][`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		bl, err := DecodeBlocklist(data)
		if err != nil {
			return
		}
		for _, e := range bl {
			back, err := ParseBlocklistEntry(e.String())
			if err != nil || !back.Same(e) || back.IsRange() != e.IsRange() {
				t.Fatalf("entry %v prints %q which reads back as %v, %v", e, e.String(), back, err)
			}
			if !e.IsRange() && !bl.IsBlocklisted(e.Addr) {
				t.Fatalf("%v is in the list but not blocklisted", e)
			}
		}
	})
}

func FuzzParseBlocklistEntry(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "10.0.0.0/24", "fd00::/64", "[fd00::1]:0/9", "1.2.3.4/33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseBlocklistEntry(s)
		if err != nil {
			return
		}
		back, err := ParseBlocklistEntry(e.String())
		if err != nil || !back.Same(e) {
			t.Fatalf("%q → %q → %v, %v", s, e.String(), back, err)
		}
	})
}

func FuzzResolveMonHost(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "[v2:10.0.0.1:3300,v1:10.0.0.1:6789]", "mons.example:6789",
		"v1:mons.example", "a.example;b.example 10.0.0.1", "[::1]:6789", "[v2:[::1]:3300/0]"} {
		f.Add(s)
	}
	r := fakeResolver{"mons.example": {"10.0.0.1", "fd00::1"}, "a.example": {"10.0.0.2"}}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := ResolveMonHost(context.Background(), r, s)
		if err != nil {
			return
		}
		// The result holds addresses only: resolving again changes nothing.
		again, err := ResolveMonHost(context.Background(), fakeResolver{}, out)
		if err != nil || again != out {
			t.Fatalf("%q → %q → %q, %v", s, out, again, err)
		}
	})
}
