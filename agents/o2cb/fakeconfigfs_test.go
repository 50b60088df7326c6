package o2cb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// fakeConfigFS emulates the kernel's O2CB configfs rules over a temporary
// folder, so that unit tests see what the kernel would do: mkdir makes the
// object's attributes, node attributes are write-once and ordered, one
// cluster at a time, idle > keepalive, frozen settings while peers are
// connected or regions beat, rmdir of a non-empty object fails.
type fakeConfigFS struct {
	root string
	// connected freezes the o2net timeouts (peers agreed to them).
	connected bool
	// regionsActive freezes dead_threshold (silently) and the mode.
	regionsActive bool
	// errs injects an error for an operation on a path ("write:cluster/x/num").
	errs map[string]error
	// set records which node attributes were written (write-once).
	set map[string]bool
	// ops logs every mutating operation, for order checks.
	ops []string
	// listen fails the local write like o2net's bind would.
	listenErr error
}

func newFakeConfigFS(root string) *fakeConfigFS {
	return &fakeConfigFS{root: root, errs: map[string]error{}, set: map[string]bool{}}
}

func (f *fakeConfigFS) abs(p string) string { return filepath.Join(f.root, p) }

func (f *fakeConfigFS) injected(op, p string) error { return f.errs[op+":"+p] }

func (f *fakeConfigFS) file(p, value string) {
	if err := os.WriteFile(f.abs(p), []byte(value+"\n"), 0o644); err != nil {
		panic(err)
	}
}

func errno(op, p string, e syscall.Errno) error { return &fs.PathError{Op: op, Path: p, Err: e} }

func (f *fakeConfigFS) Mkdir(p string) error {
	if err := f.injected("mkdir", p); err != nil {
		return err
	}
	parts := strings.Split(p, "/")
	if _, err := os.Stat(f.abs(path.Dir(p))); err != nil {
		return errno("mkdir", p, syscall.ENOENT)
	}
	if _, err := os.Stat(f.abs(p)); err == nil {
		return errno("mkdir", p, syscall.EEXIST)
	}
	switch {
	case len(parts) == 2 && parts[0] == "cluster":
		if others, _ := f.Dirs("cluster"); len(others) > 0 {
			return errno("mkdir", p, syscall.ENOSPC)
		}
		must(os.MkdirAll(f.abs(path.Join(p, "node")), 0o755))
		must(os.MkdirAll(f.abs(path.Join(p, "heartbeat")), 0o755))
		f.file(path.Join(p, "idle_timeout_ms"), "30000")
		f.file(path.Join(p, "keepalive_delay_ms"), "2000")
		f.file(path.Join(p, "reconnect_delay_ms"), "2000")
		f.file(path.Join(p, "fence_method"), "reset")
		f.file(path.Join(p, "heartbeat", "dead_threshold"), "31")
		f.file(path.Join(p, "heartbeat", "mode"), "local")
	case len(parts) == 4 && parts[2] == "node":
		must(os.Mkdir(f.abs(p), 0o755))
		f.file(path.Join(p, "num"), "0")
		f.file(path.Join(p, "ipv4_address"), "0.0.0.0")
		f.file(path.Join(p, "ipv4_port"), "0")
		f.file(path.Join(p, "local"), "0")
	case len(parts) == 4 && parts[2] == "heartbeat":
		must(os.Mkdir(f.abs(p), 0o755))
		for _, a := range []string{"block_bytes", "start_block", "blocks"} {
			f.file(path.Join(p, a), "0")
		}
		f.file(path.Join(p, "dev"), "")
		f.file(path.Join(p, "pid"), "")
	default:
		return errno("mkdir", p, syscall.EPERM)
	}
	f.ops = append(f.ops, "mkdir "+p)
	return nil
}

func (f *fakeConfigFS) Rmdir(p string) error {
	if err := f.injected("rmdir", p); err != nil {
		return err
	}
	if _, err := os.Stat(f.abs(p)); err != nil {
		return errno("rmdir", p, syscall.ENOENT)
	}
	parts := strings.Split(p, "/")
	if len(parts) == 2 {
		for _, sub := range []string{"node", "heartbeat"} {
			if d, _ := f.Dirs(path.Join(p, sub)); len(d) > 0 {
				return errno("rmdir", p, syscall.ENOTEMPTY)
			}
		}
	}
	for k := range f.set {
		if strings.HasPrefix(k, p+"/") {
			delete(f.set, k)
		}
	}
	must(os.RemoveAll(f.abs(p)))
	f.ops = append(f.ops, "rmdir "+p)
	return nil
}

func (f *fakeConfigFS) Dirs(p string) ([]string, error) {
	if err := f.injected("dirs", p); err != nil {
		return nil, err
	}
	return realConfigFS{root: f.root}.Dirs(p)
}

func (f *fakeConfigFS) Read(p string) (string, error) {
	if err := f.injected("read", p); err != nil {
		return "", err
	}
	return realConfigFS{root: f.root}.Read(p)
}

func (f *fakeConfigFS) Write(p, value string) error {
	if err := f.injected("write", p); err != nil {
		return err
	}
	if _, err := os.Stat(f.abs(p)); err != nil {
		return errno("open", p, syscall.ENOENT)
	}
	if err := f.kernelRules(p, value); err != nil {
		return errno("write", p, err.(syscall.Errno))
	}
	f.ops = append(f.ops, "write "+p+"="+value)
	return nil
}

// kernelRules applies nodemanager.c's and heartbeat.c's checks and stores
// the value when they pass.
func (f *fakeConfigFS) kernelRules(p, value string) error {
	dir, attr := path.Dir(p), path.Base(p)
	parts := strings.Split(p, "/")
	cluster := path.Join(parts[0], parts[1])
	read := func(q string) string { v, _ := realConfigFS{root: f.root}.Read(q); return v }
	store := func() error { f.file(p, value); return nil }
	n, numErr := strconv.Atoi(value)

	if len(parts) == 5 && parts[2] == "node" {
		if f.set[p] {
			return syscall.EBUSY
		}
		switch attr {
		case "ipv4_port":
			if numErr != nil || n == 0 {
				return syscall.EINVAL
			}
			if n >= 65535 {
				return syscall.ERANGE
			}
		case "ipv4_address":
			for _, other := range f.nodes(cluster) {
				if read(path.Join(other, "ipv4_address")) == value {
					return syscall.EEXIST
				}
			}
		case "num":
			if n >= 255 {
				return syscall.ERANGE
			}
			if !f.set[dir+"/ipv4_address"] || !f.set[dir+"/ipv4_port"] {
				return syscall.EINVAL
			}
			for _, other := range f.nodes(cluster) {
				if f.set[other+"/num"] && read(path.Join(other, "num")) == value {
					return syscall.EEXIST
				}
			}
		case "local":
			if !f.set[dir+"/ipv4_address"] || !f.set[dir+"/ipv4_port"] || !f.set[dir+"/num"] {
				return syscall.EINVAL
			}
			for _, other := range f.nodes(cluster) {
				if other != dir && read(path.Join(other, "local")) == "1" && value == "1" {
					return syscall.EBUSY
				}
			}
			if f.listenErr != nil {
				return f.listenErr.(syscall.Errno)
			}
		}
		f.set[p] = true
		return store()
	}
	switch attr {
	case "idle_timeout_ms", "keepalive_delay_ms", "reconnect_delay_ms":
		if numErr != nil || n == 0 {
			return syscall.EINVAL
		}
		if f.connected && read(p) != value && attr != "reconnect_delay_ms" {
			return syscall.EINVAL
		}
		idle, _ := strconv.Atoi(read(path.Join(cluster, "idle_timeout_ms")))
		keep, _ := strconv.Atoi(read(path.Join(cluster, "keepalive_delay_ms")))
		if attr == "idle_timeout_ms" && n <= keep || attr == "keepalive_delay_ms" && n >= idle {
			return syscall.EINVAL
		}
	case "fence_method":
		if value != "reset" && value != "panic" {
			return syscall.EINVAL
		}
	case "dead_threshold":
		if numErr != nil || n <= 2 || f.regionsActive {
			return nil // the kernel says yes and keeps the old value
		}
	case "mode":
		if f.regionsActive || value != "local" && value != "global" {
			return syscall.EINVAL
		}
	case "dev":
		f.file(path.Join(dir, "pid"), "4242")
	}
	return store()
}

func (f *fakeConfigFS) nodes(cluster string) []string {
	names, _ := realConfigFS{root: f.root}.Dirs(path.Join(cluster, "node"))
	var dirs []string
	for _, n := range names {
		dirs = append(dirs, path.Join(cluster, "node", n))
	}
	return dirs
}

// state returns "name num addr port local" lines of the registered nodes.
func (f *fakeConfigFS) state(cluster string) []string {
	var lines []string
	for _, dir := range f.nodes(path.Join("cluster", cluster)) {
		c := realConfigFS{root: f.root}
		get := func(a string) string { v, _ := c.Read(path.Join(dir, a)); return v }
		lines = append(lines, fmt.Sprintf("%s %s %s %s %s", path.Base(dir), get("num"), get("ipv4_address"), get("ipv4_port"), get("local")))
	}
	slices.Sort(lines)
	return lines
}

func must(err error) {
	if err != nil && !errors.Is(err, fs.ErrExist) {
		panic(err)
	}
}
