package o2cb

import (
	"context"
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

// TestModprobe runs a stand-in modprobe from PATH.
func TestModprobe(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\n[ \"$1\" = -a ] || exit 9\n[ \"$2\" = good ] && exit 0\necho \"modprobe: FATAL: Module $2 not found in directory /lib/modules/x\" >&2\necho second line >&2\nexit 1\n"
	must(os.WriteFile(filepath.Join(dir, "modprobe"), []byte(script), 0o755))
	t.Setenv("PATH", dir)
	if err := modprobe(context.Background(), "good"); err != nil {
		t.Fatal(err)
	}
	err := modprobe(context.Background(), "bad", "other")
	if err == nil || err.Error() != "modprobe bad other: modprobe: FATAL: Module bad not found in directory /lib/modules/x" {
		t.Fatalf("%v", err)
	}
}

func TestRealSystem(t *testing.T) {
	s := RealSystem()
	if s.Release() == "" || s.ConfigfsDir != "/sys/kernel/config" {
		t.Fatalf("release %q", s.Release())
	}
}
