package fencerbd

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
)

// A record is the list of blocklist entries fence_rbd added for one target
// and has not removed yet. It lives in the monitors' config-key store under
// recordKey, so that whichever node unfences the target removes exactly
// those entries, even when the hosts option has changed since, and never an
// entry an administrator added by hand. The store needs no OSD: unfencing
// runs on the target itself, whose address is still blocklisted then, and
// fencing must not wait for a pool.
type record struct {
	Version int           `json:"version"`
	Target  string        `json:"target"`
	Entries []recordEntry `json:"entries"`
}

type recordEntry struct {
	Entry string    `json:"entry"` // as the blocklist commands take it
	Added time.Time `json:"added"`
	By    string    `json:"by,omitempty"` // the node that ran fence_rbd
}

const recordVersion = 1

// recordPrefix is where records live in the config-key store; the cephx
// caps of the fencing user can be limited to it.
const recordPrefix = "kvmha/fence_rbd/"

// recordKey names a target's record.
func recordKey(targetName string) string { return recordPrefix + targetName }

// maxRecordEntries bounds a record; one target has a few addresses.
const maxRecordEntries = 4096

// decodeRecord reads a record object. Unknown fields are ignored (a newer
// fence_rbd may add some); entries must parse.
func decodeRecord(data []byte) (record, []ceph.BlocklistEntry, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return record{}, nil, fmt.Errorf("damaged record: %w", err)
	}
	if r.Version != recordVersion {
		return record{}, nil, fmt.Errorf("record version %d is not %d", r.Version, recordVersion)
	}
	if len(r.Entries) > maxRecordEntries {
		return record{}, nil, errors.New("record has too many entries")
	}
	es := make([]ceph.BlocklistEntry, 0, len(r.Entries))
	for _, e := range r.Entries {
		be, err := ceph.ParseBlocklistEntry(e.Entry)
		if err != nil {
			return record{}, nil, fmt.Errorf("damaged record: %w", err)
		}
		es = append(es, be)
	}
	return r, es, nil
}

// add appends the entries the record does not hold yet.
func (r *record) add(es []ceph.BlocklistEntry, at time.Time, by string) {
	for _, e := range es {
		known := false
		for _, x := range r.Entries {
			if x.Entry == e.String() {
				known = true
			}
		}
		if !known {
			r.Entries = append(r.Entries, recordEntry{Entry: e.String(), Added: at.UTC(), By: by})
		}
	}
}

func (r record) encode() []byte {
	b, _ := json.Marshal(r) // a record always marshals
	return append(b, '\n')
}
