// Package filestest makes the files an operator or an attacker can name where a
// configuration file, a key or a state folder belongs: a FIFO nobody writes (a plain open
// waits forever), a character device that never ends, a folder. Every reader of such a
// path must refuse it at once (internal/files reads bounded); tests of those readers build
// their fixtures here. Only tests import it.
package filestest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Device is a character device that never ends: a reader without a bound reads it until
// memory runs out.
const Device = "/dev/zero"

// Hostile holds the paths a bounded reader must refuse at once.
type Hostile struct {
	Dir  string // a folder of the test's own, where the FIFO is
	FIFO string // a FIFO nobody writes
}

// NewHostile makes a folder with a FIFO in it.
func NewHostile(t testing.TB) Hostile {
	t.Helper()
	dir := t.TempDir()
	return Hostile{Dir: dir, FIFO: FIFO(t, filepath.Join(dir, "fifo"))}
}

// Paths are the FIFO, Device and the folder, in that order.
func (h Hostile) Paths() []string { return []string{h.FIFO, Device, h.Dir} }

// Refused runs check on each of h's Paths and fails the test when it reports a problem or
// takes longer than limit: a refusal must come at once, not after a read that blocks.
func (h Hostile) Refused(t testing.TB, limit time.Duration, check func(path string) error) {
	t.Helper()
	for _, p := range h.Paths() {
		start := time.Now()
		if err := check(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if took := time.Since(start); took > limit {
			t.Errorf("%s took %s", p, took)
		}
	}
}

// FIFO makes a FIFO nobody writes at path, and returns path.
func FIFO(t testing.TB, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// WriteFile writes data at path, readable by its owner only, and returns path.
func WriteFile(t testing.TB, path, data string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
