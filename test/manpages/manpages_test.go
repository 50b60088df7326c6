// Package manpages checks the manual pages in packaging/man: they must be exactly what
// the declarations render today (run `make manpages` after changing a parameter, an
// option or a command), one per binary under cmd/, and free of the warnings man and
// lintian report.
package manpages

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/packaging/manpages"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func manDir() string { return filepath.Join(repoRoot(), "packaging", "man") }

func pages(t *testing.T) []manpages.Page {
	t.Helper()
	ps, err := manpages.Pages()
	if err != nil {
		t.Fatalf("rendering the pages: %v", err)
	}
	return ps
}

func TestManpagesCurrent(t *testing.T) {
	known := map[string]bool{}
	for _, p := range pages(t) {
		known[p.File] = true
		file := filepath.Join(manDir(), p.File)
		got, err := os.ReadFile(file)
		if err != nil || !bytes.Equal(got, p.Source) {
			t.Errorf("%s is stale or missing (%v): run make manpages", file, err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(manDir(), "*"))
	for _, f := range files {
		if !known[filepath.Base(f)] {
			t.Errorf("%s is no page any more: run make manpages", f)
		}
	}
}

// TestOnePagePerBinary: every cmd/<binary> is documented, in section 8 when it goes to
// /usr/sbin (fence agents and kvmha), in section 7 as ocf_kvmha_<binary> otherwise.
func TestOnePagePerBinary(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join(repoRoot(), "cmd"))
	if err != nil {
		t.Fatal(err)
	}
	byBinary := map[string]manpages.Page{}
	for _, p := range pages(t) {
		if _, dup := byBinary[p.Binary]; dup {
			t.Errorf("two pages for %s", p.Binary)
		}
		byBinary[p.Binary] = p
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		bin := e.Name()
		p, ok := byBinary[bin]
		if !ok {
			t.Errorf("cmd/%s has no manual page: add it to packaging/manpages", bin)
			continue
		}
		want := "ocf_kvmha_" + bin + ".7"
		if strings.HasPrefix(bin, "fence_") || bin == "kvmha" {
			want = bin + ".8"
		}
		if p.File != want {
			t.Errorf("cmd/%s: page %s, want %s", bin, p.File, want)
		}
		delete(byBinary, bin)
	}
	for bin := range byBinary {
		t.Errorf("page for %s, which is no binary under cmd/", bin)
	}
}

// TestPagesFormatCleanly runs the checks lintian runs on manual pages: man with warnings
// on must print nothing on stderr, and lexgrog must find the NAME line for whatis.
func TestPagesFormatCleanly(t *testing.T) {
	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("man is not installed")
	}
	for _, p := range pages(t) {
		t.Run(p.File, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), p.File)
			if err := os.WriteFile(path, p.Source, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", path)
			cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "MANROFFSEQ=", "MANWIDTH=80")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil || stderr.Len() > 0 {
				t.Errorf("man: %v\n%s", err, stderr.String())
			}
			if _, err := exec.LookPath("lexgrog"); err == nil {
				out, err := exec.Command("lexgrog", path).CombinedOutput()
				name := strings.TrimSuffix(strings.TrimSuffix(p.File, ".7"), ".8")
				if err != nil || !strings.Contains(string(out), `"`+name+" - ") {
					t.Errorf("lexgrog: %v\n%s", err, out)
				}
			}
			for i, l := range strings.Split(string(p.Source), "\n") {
				for _, r := range l {
					if r > 0x7e || (r < 0x20 && r != '\t') {
						t.Errorf("line %d: not plain ASCII: %q", i+1, l)
						break
					}
				}
			}
		})
	}
}
