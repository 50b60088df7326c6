package ocf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/files"
)

// An agent's record is what it keeps about what it started for one resource on this node:
// the domain it defined, the device it mapped, the daemon it spawned. It lives in HA_RSCTMP
// (a tmpfs emptied at boot, as the resources are), one file per resource instance, written
// by start and removed once stop has stopped it.
//
// The record is what lets stop be safe with any parameters. Pacemaker stops a resource with
// the configuration it has now, which may hold a typo the operator made after start. Without
// a record, invalid parameters prove nothing was started, and stop succeeds at once (failing
// it would get the node fenced). With a record, stop stops exactly what the record names,
// through Agent.StopRecorded, whatever the parameters say.

// defaultRscTmp is ocf-shellfuncs' HA_RSCTMP when the environment sets none.
const defaultRscTmp = "/run/resource-agents"

// maxRecordSize bounds a record read back; agents keep a few hundred bytes.
const maxRecordSize = 64 << 10

// recordReadTimeout bounds reading a record: HA_RSCTMP is a local tmpfs, so this only
// guards against an operator pointing it somewhere strange.
const recordReadTimeout = 2 * time.Second

// RecordPath is the file holding this resource's record on this node.
func (r *Request) RecordPath() string {
	inst := strings.NewReplacer("/", "_", "\x00", "_").Replace(r.Instance())
	if inst == "" || inst == "." || inst == ".." {
		inst = "unnamed"
	}
	return filepath.Join(r.env.RscTmp, "kvmha-"+r.agent.Name+"-"+inst+".record")
}

// SaveRecord writes v (as JSON) as this resource's record, durably, readable by root only.
func (r *Request) SaveRecord(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.env.RscTmp, 0o755); err != nil {
		return err
	}
	return files.WriteAtomic(r.RecordPath(), append(data, '\n'), 0o600)
}

// LoadRecord reads this resource's record into v. It reports false, with no error, when
// there is none; a record that cannot be read or parsed is an error, because guessing
// "nothing started" from it could get a guest started twice.
func (r *Request) LoadRecord(v any) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), recordReadTimeout)
	defer cancel()
	data, err := files.Read(ctx, r.RecordPath(), maxRecordSize)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot read this node's record of the resource: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("corrupt record of the resource on this node (%s): %v", r.RecordPath(), err)
	}
	return true, nil
}

// HasRecord reports whether this resource has a record on this node (an unreadable one
// counts: it is there), including one an older version of the agent kept elsewhere
// (Agent.LegacyRecords).
func (r *Request) HasRecord() bool {
	paths := []string{r.RecordPath()}
	if r.agent.LegacyRecords != nil {
		paths = append(paths, r.agent.LegacyRecords(r)...)
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			return true
		}
	}
	return false
}

// DropRecord removes the record; removing none succeeds.
func (r *Request) DropRecord() error {
	err := os.Remove(r.RecordPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
