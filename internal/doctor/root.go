package doctor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Root is where the host's files are: "/" on a real host, a folder holding
// a fake /sys, /proc, /lib/modules, /etc... in tests. Every file the checks
// read goes through it.
type Root string

// path is p (absolute) under the root.
func (r Root) path(p string) string {
	if r == "" || r == "/" {
		return p
	}
	return filepath.Join(string(r), p)
}

// maxFileLen bounds what is read of one host file. The largest read here
// is modules.dep (~500 KiB on a distribution kernel with every module).
const maxFileLen = 8 << 20

// read returns a host file's content; more than maxFileLen bytes is an
// error rather than a silent truncation.
func (r Root) read(p string) ([]byte, error) {
	f, err := os.Open(r.path(p))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileLen+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileLen {
		return nil, fmt.Errorf("%s: larger than %d bytes", p, maxFileLen)
	}
	return data, nil
}

// readLine is read for one-line files (sysfs attributes, /proc/sys).
func (r Root) readLine(p string) (string, error) {
	data, err := r.read(p)
	return strings.TrimSpace(string(data)), err
}

// exists reports whether p exists; an error other than "does not exist"
// counts as existing, so that a permission problem is not taken for
// absence.
func (r Root) exists(p string) bool {
	_, err := os.Lstat(r.path(p))
	return !errors.Is(err, os.ErrNotExist)
}

// isExecutable reports whether p is a regular file someone may execute.
func (r Root) isExecutable(p string) bool {
	st, err := os.Stat(r.path(p))
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// binDirs are where programs are looked for: a root's PATH is not ours to
// read, and doctor may run with a reduced one (sudo's secure_path).
var binDirs = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// lookPath finds a program in binDirs; "" when it is nowhere.
func (r Root) lookPath(name string) string {
	for _, d := range binDirs {
		if p := filepath.Join(d, name); r.isExecutable(p) {
			return p
		}
	}
	return ""
}

// kernelRelease is the running kernel's release (uname -r).
func (r Root) kernelRelease() (string, error) {
	rel, err := r.readLine("/proc/sys/kernel/osrelease")
	if err == nil && (rel == "" || strings.ContainsAny(rel, "/\x00") || rel == "." || rel == "..") {
		err = fmt.Errorf("/proc/sys/kernel/osrelease holds %q", agentlog.Clip(rel))
	}
	return rel, err
}

// hostname is the kernel's host name, first label only.
func (r Root) hostname() string {
	h, _ := r.readLine("/proc/sys/kernel/hostname")
	h, _, _ = strings.Cut(h, ".")
	return h
}
