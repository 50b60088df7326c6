package ceph

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/files/filestest"
)

func TestCheckFilesRefuseWhatLibradosWouldHangOn(t *testing.T) {
	hostile := filestest.NewHostile(t)
	dir, fifo := hostile.Dir, hostile.FIFO
	conf := filestest.WriteFile(t, filepath.Join(dir, "ceph.conf"), "[global]\nmon_host = 10.0.0.1\n")
	empty := filestest.WriteFile(t, filepath.Join(dir, "empty"), "")
	big := filestest.WriteFile(t, filepath.Join(dir, "big"), strings.Repeat("#", MaxKeyringSize+1))
	ctx := context.Background()
	if err := CheckConfFile(ctx, conf); err != nil {
		t.Errorf("a configuration file: %v", err)
	}
	if err := CheckConfFile(ctx, big); err != nil {
		t.Errorf("a configuration file of 64 KiB: %v", err)
	}
	for _, tc := range []struct {
		keyring bool
		path    string
		want    string
	}{
		{false, fifo, "not a regular file (a FIFO)"},
		{false, "/dev/zero", "not a regular file (a character device)"},
		{false, dir, "not a regular file (a directory)"},
		{false, filepath.Join(dir, "missing"), "no such file or directory"},
		{false, "", "no path given"},
		{true, fifo, "a FIFO"},
		{true, empty, "is empty"},
		{true, big, "too large"},
		{false, "/" + strings.Repeat("x", 5000), "..."},
	} {
		start := time.Now()
		check := CheckConfFile
		if tc.keyring {
			check = CheckKeyringFile
		}
		err := check(ctx, tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || len(err.Error()) > 200 {
			t.Errorf("%.40q (keyring %v): %v, want %q", tc.path, tc.keyring, err, tc.want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%.40q took %s", tc.path, d)
		}
	}
}
