// Package metadata checks the meta-data every kvmha binary prints: it must validate against
// the schemas Pacemaker's tools use, and ocf-metadata/ must hold exactly what the binaries
// print today (run `make metadata` after changing a parameter).
package metadata

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

const (
	raAPIDTD   = "/usr/share/resource-agents/ra-api-1.dtd" // what ocf-tester validates against
	pcsOCF11   = "/usr/share/pcs/data/ocf-1.1.rng"         // what pcs validates against
	fenceRNG   = "/usr/share/cluster/relaxng/metadata.rng" // fence-agents' schema
	buildTags  = "pacific"
	fenceLabPk = "./test/lab/fence-lab"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

type binary struct {
	name  string // file name, e.g. VirtualDomain or fence_rbd
	pkg   string // Go package path relative to the repo root
	fence bool
	// checked says whether ocf-metadata/<name>.xml must match (product binaries only)
	checked bool
}

func binaries(t *testing.T) []binary {
	entries, err := os.ReadDir(filepath.Join(repoRoot(), "cmd"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var bins []binary
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "kvmha" {
			continue // kvmha is the admin command, not an agent
		}
		bins = append(bins, binary{name: e.Name(), pkg: "./cmd/" + e.Name(),
			fence: strings.HasPrefix(e.Name(), "fence_"), checked: true})
	}
	// The lab's fence agent is no product, but it is built on the same runtime: validate it too.
	bins = append(bins, binary{name: "fence_lab", pkg: fenceLabPk, fence: true})
	return bins
}

func build(t *testing.T, dir string, b binary) string {
	t.Helper()
	out := filepath.Join(dir, b.name)
	cmd := exec.Command("go", "build", "-tags", buildTags, "-o", out, b.pkg)
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", b.pkg, err, msg)
	}
	return out
}

func metaData(t *testing.T, path string, fence bool) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := []string{"meta-data"}
	if fence {
		args = []string{"-o", "metadata"}
	}
	// An empty environment: meta-data must not depend on parameters or a cluster.
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = []string{}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(path), args[len(args)-1], err, stderr.String())
	}
	return out
}

func xmllint(t *testing.T, xml []byte, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Fatal("xmllint is missing: install libxml2-utils (make deps does)")
	}
	cmd := exec.Command("xmllint", append(append([]string{"--noout"}, args...), "-")...)
	cmd.Stdin = bytes.NewReader(xml)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xmllint %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestMetadataValidAndCurrent(t *testing.T) {
	dir := t.TempDir()
	for _, b := range binaries(t) {
		t.Run(b.name, func(t *testing.T) {
			md := metaData(t, build(t, dir, b), b.fence)
			if b.fence {
				xmllint(t, md, "--relaxng", fenceRNG)
			} else {
				xmllint(t, md, "--dtdvalid", raAPIDTD)
				xmllint(t, md, "--relaxng", pcsOCF11)
			}
			if !b.checked {
				return
			}
			file := filepath.Join(repoRoot(), "ocf-metadata", b.name+".xml")
			want, err := os.ReadFile(file)
			if err != nil || !bytes.Equal(want, md) {
				t.Fatalf("%s is stale or missing (%v): run make metadata", file, err)
			}
		})
	}
}

// TestNoStrayMetadata: every file in ocf-metadata/ belongs to a binary that still exists.
func TestNoStrayMetadata(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot(), "ocf-metadata", "*.xml"))
	known := map[string]bool{}
	for _, b := range binaries(t) {
		known[b.name+".xml"] = b.checked
	}
	for _, f := range files {
		if !known[filepath.Base(f)] {
			t.Errorf("%s belongs to no binary under cmd/", f)
		}
	}
}
