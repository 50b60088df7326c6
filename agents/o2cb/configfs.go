package o2cb

import (
	"os"
	"path/filepath"
	"strings"
)

// configFS is what the agent does to configfs. configfs is no ordinary file
// system: mkdir creates a kernel object together with its attribute files,
// rmdir destroys it, attributes exist only as the kernel made them (there is
// no creating one), and a write is a call into the kernel that may refuse.
// Unit tests therefore swap in an emulation of those rules over a temporary
// folder instead of a plain folder.
//
// Paths are relative to the configfs mount point, e.g. "cluster/lab/node".
type configFS interface {
	Mkdir(path string) error
	Rmdir(path string) error
	// Dirs lists the sub-folders (kernel objects) of path.
	Dirs(path string) ([]string, error)
	// Read returns an attribute's value without its trailing newline.
	Read(path string) (string, error)
	// Write stores value into an existing attribute in one write call.
	Write(path, value string) error
}

// realConfigFS is configfs mounted at root.
type realConfigFS struct{ root string }

func (c realConfigFS) abs(path string) string { return filepath.Join(c.root, path) }

func (c realConfigFS) Mkdir(path string) error { return os.Mkdir(c.abs(path), 0o755) }

func (c realConfigFS) Rmdir(path string) error { return os.Remove(c.abs(path)) }

func (c realConfigFS) Dirs(path string) ([]string, error) {
	entries, err := os.ReadDir(c.abs(path))
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	return dirs, nil
}

func (c realConfigFS) Read(path string) (string, error) {
	data, err := os.ReadFile(c.abs(path))
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(data), "\n"), nil
}

// Write opens without O_CREAT: an attribute the kernel did not make must not
// silently become a file (configfs refuses anyway; a mistyped path under a
// plain folder would not).
func (c realConfigFS) Write(path, value string) error {
	f, err := os.OpenFile(c.abs(path), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(value + "\n"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
