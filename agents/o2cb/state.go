package o2cb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/ocf"
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

// record is what start set up, kept in HA_RSCTMP (ocf.Request.SaveRecord) for a stop whose
// parameters cannot be used (a typo made after start): the cluster it registered in
// configfs (with its nodes and heartbeat regions, which go with it) and the mounts it
// made. The state above is per cluster and read by monitor too; the record is per
// resource and names the cluster, which a stop with a broken cluster parameter cannot.
type record struct {
	Cluster string `json:"cluster"`
	// MountedConfigfs: start mounted configfs. Stop leaves it mounted: other kernel
	// subsystems (LIO, nvmet, USB gadgets) keep their objects there too.
	MountedConfigfs bool `json:"mounted_configfs,omitempty"`
	// MountedDLMFS is the ocfs2_dlmfs mount point start created.
	MountedDLMFS string `json:"mounted_dlmfs,omitempty"`
}

// saveRecord writes the record; start fails without it, since a later stop with unusable
// parameters could not find the cluster.
func saveRecord(req *ocf.Request, rec record) error {
	if err := req.SaveRecord(rec); err != nil {
		return fmt.Errorf("cannot keep this node's record of the resource (%s): %w", req.RecordPath(), err)
	}
	return nil
}

func (s *deps) statePath(cluster string) string {
	return filepath.Join(s.stateDir, "o2cb-"+cluster+".json")
}

// maxStateSize bounds the state read back; it holds a mount point and a few regions.
const maxStateSize = 64 << 10

// stateReadTimeout bounds reading the state: StateDir is a local tmpfs.
const stateReadTimeout = 2 * time.Second

// loadState returns the saved state, or an empty one when there is none or
// it is unreadable (stop must work regardless; it then leaves mounts alone).
func (s *deps) loadState(cluster string) (state, error) {
	var st state
	ctx, cancel := context.WithTimeout(context.Background(), stateReadTimeout)
	defer cancel()
	data, err := files.Read(ctx, s.statePath(cluster), maxStateSize)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("cannot read %s: %w", s.statePath(cluster), files.Cause(err))
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return state{}, fmt.Errorf("%s is damaged: %v", s.statePath(cluster), err)
	}
	return st, nil
}

// saveState replaces the state durably (files.WriteAtomic): readers see the old state or
// the new, and a mount start made is not forgotten in a power cut.
func (s *deps) saveState(cluster string, st state) error {
	if err := os.MkdirAll(s.stateDir, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", s.stateDir, err)
	}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return files.WriteAtomic(s.statePath(cluster), data, 0o644)
}

func (s *deps) removeState(cluster string) error {
	err := os.Remove(s.statePath(cluster))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
