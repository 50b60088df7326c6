package o2cb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRealConfigFS: the production access on a plain folder - attributes
// are written in place (configfs has no truncation) and never created.
func TestRealConfigFS(t *testing.T) {
	dir := t.TempDir()
	c := realConfigFS{root: dir}
	must(c.Mkdir("cluster"))
	must(c.Mkdir("cluster/lab"))
	must(os.WriteFile(filepath.Join(dir, "cluster/lab/attr"), []byte("0\n"), 0o644))
	if err := c.Write("cluster/lab/attr", "7"); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Read("cluster/lab/attr"); err != nil || v != "7" {
		t.Fatalf("%q %v", v, err)
	}
	if err := c.Write("cluster/lab/missing", "1"); !os.IsNotExist(err) {
		t.Fatalf("write created an attribute: %v", err)
	}
	if d, err := c.Dirs("cluster"); err != nil || strings.Join(d, ",") != "lab" {
		t.Fatalf("%v %v", d, err)
	}
	must(os.Remove(filepath.Join(dir, "cluster/lab/attr")))
	must(c.Rmdir("cluster/lab"))
	if _, err := c.Read("cluster/lab/attr"); err == nil {
		t.Fatal("read of a removed attribute")
	}
}

func TestProductionDeps(t *testing.T) {
	s := productionDeps()
	if s.release() == "" || s.configfsDir != "/sys/kernel/config" {
		t.Fatalf("release %q", s.release())
	}
}
