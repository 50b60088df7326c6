package o2cbconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRoundTripTestdata: files o2cb wrote (testdata/o2cb-*.conf, made with
// `o2cb --config-file`) come back byte for byte.
func TestRoundTripTestdata(t *testing.T) {
	files, _ := filepath.Glob("testdata/o2cb-*.conf")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := string(f.Bytes()); got != string(data) {
			t.Errorf("%s: round trip changed the file:\n%s\nwant:\n%s", name, got, data)
		}
	}
}

func TestParseLenient(t *testing.T) {
	in := "# written by hand\r\ncluster:\r\n  name=lab\r\n\n\n   # indented comment\n\tnode_count   =   2  \nnode :\n\tcluster = lab\n\tname = a\n\tempty =\n"
	f, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := "cluster:\n\tname = lab\n\tnode_count = 2\n\nnode:\n\tcluster = lab\n\tname = a\n\tempty = \n\n"
	if got := string(f.Bytes()); got != want {
		t.Fatalf("got:\n%q\nwant:\n%q", got, want)
	}
	if f.Stanzas[1].Line != 8 {
		t.Errorf("node stanza line %d, want 8", f.Stanzas[1].Line)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"\tname = a\n", "line 1: attribute name comes before any stanza header"},
		{"cluster:\nname = a\n", `line 2: "name = a" is neither a stanza header`},
		{"  cluster:\n", "line 1: stanza header \"cluster:\" must start at the beginning of the line"},
		{"cluster:\n\tname\n", `line 2: "name" is not a "key = value" attribute`},
		{"cluster:\n\t= a\n", `line 2: "= a" is not a "key = value" attribute`},
		{"cluster:\n\tname = a\n\tname = b\n", "line 3: name is given twice in the cluster stanza at line 1"},
		{"clu ster:\n", "line 1: \"clu ster:\" is neither"},
		{"cluster:\n\tname = a\x00\n", "line 2: control character U+0000 at column 10"},
		{"cluster:\n\tname = \xff\n", "line 2: invalid UTF-8"},
		{":\n", `line 1: ":" is neither`},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
	if _, err := Parse(make([]byte, MaxSize+1)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
	long := "cluster:\n\tname = " + strings.Repeat("é", 100) + " x\n\tname = b\n"
	if _, err := Parse([]byte(long)); err == nil {
		t.Error("duplicate key accepted")
	}
	if _, err := Parse([]byte("x" + strings.Repeat("é", 100) + "\n")); err == nil || !strings.Contains(err.Error(), "...") {
		t.Errorf("long bad line not clipped: %v", err)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", "\n\n", "# only a comment\n"} {
		f, err := Parse([]byte(in))
		if err != nil || len(f.Stanzas) != 0 || len(f.Bytes()) != 0 {
			t.Errorf("Parse(%q) = %+v, %v", in, f, err)
		}
	}
}
