package files

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/files/filestest"
)

func TestReadRegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := Read(context.Background(), path, 5)
	if err != nil || string(data) != "hello" {
		t.Fatalf("Read = %q, %v", data, err)
	}
	if _, err := Read(context.Background(), path, 4); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("limit 4: %v, want ErrTooLarge", err)
	}
}

func TestReadRefusesWhatIsNotAFile(t *testing.T) {
	hostile := filestest.NewHostile(t)
	dir, fifo := hostile.Dir, hostile.FIFO
	for _, tc := range []struct {
		path string
		want error
		text string
	}{
		{dir, ErrNotRegular, "a directory"},
		{fifo, ErrNotRegular, "a FIFO"},
		{"/dev/zero", ErrNotRegular, "a character device"},
		{filepath.Join(dir, "missing"), fs.ErrNotExist, dir},
	} {
		start := time.Now()
		_, err := Read(context.Background(), tc.path, 1<<20)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("Read(%s) = %v, want %v mentioning %q", tc.path, err, tc.want, tc.text)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Read(%s) took %v", tc.path, d)
		}
	}
}

func TestReadStreamGivesUpOnAnOpenPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer r.Close()
	if _, err := w.WriteString("half"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := ReadStream(ctx, r, "stdin", 1<<20); !errors.Is(err, ErrTimedOut) || !strings.Contains(err.Error(), "stdin") {
		t.Fatalf("ReadStream = %v, want ErrTimedOut naming stdin", err)
	}
}

func TestReadStreamLimit(t *testing.T) {
	data, err := ReadStream(context.Background(), strings.NewReader("12345"), "stdin", 5)
	if err != nil || string(data) != "12345" {
		t.Fatalf("ReadStream = %q, %v", data, err)
	}
	if _, err := ReadStream(context.Background(), strings.NewReader("123456"), "stdin", 5); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	for _, content := range []string{"first", "second"} {
		if err := WriteAtomic(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("after writing %q: %q, %v", content, got, err)
		}
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	if err := WriteAtomic(filepath.Join(dir, "missing", "x"), nil, 0o600); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}
