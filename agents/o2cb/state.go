package o2cb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// state is what start did that the kernel cannot tell stop afterwards: which
// mounts were ours (an admin's dlmfs mount must survive our stop) and which
// devices the global heartbeat regions are on. It lives on /run, a tmpfs,
// so that it vanishes with what it describes.
type state struct {
	// MountedDLMFS is the ocfs2_dlmfs mount point start created.
	MountedDLMFS string `json:"mounted_dlmfs,omitempty"`
	// Regions maps global heartbeat region UUIDs to their devices.
	Regions map[string]string `json:"regions,omitempty"`
}

func (s *System) statePath(cluster string) string {
	return filepath.Join(s.StateDir, "o2cb-"+cluster+".json")
}

// loadState returns the saved state, or an empty one when there is none or
// it is unreadable (stop must work regardless; it then leaves mounts alone).
func (s *System) loadState(cluster string) (state, error) {
	var st state
	data, err := os.ReadFile(s.statePath(cluster))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("cannot read %s: %w", s.statePath(cluster), err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return state{}, fmt.Errorf("%s is damaged: %v", s.statePath(cluster), err)
	}
	return st, nil
}

// saveState writes atomically (a temporary file renamed over the old one).
func (s *System) saveState(cluster string, st state) error {
	if err := os.MkdirAll(s.StateDir, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", s.StateDir, err)
	}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.statePath(cluster), data, 0o644)
}

func (s *System) removeState(cluster string) error {
	err := os.Remove(s.statePath(cluster))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// writeFileAtomic replaces path with data so that readers see the old or the
// new file, never half of one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
