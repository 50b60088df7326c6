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
	// Holders are the client instances of the target that watched or locked an
	// image when it was fenced (off's scan). Unfencing keeps each blocklisted on
	// its own: a client of the fenced incarnation is dead or must stay fenced,
	// and the exclusive lock a dead one held stays on its image until someone
	// breaks it, which librbd and kvmha's holder check do only for a blocklisted
	// owner. Without this, a node that rejoins before its guests were restarted
	// elsewhere leaves their locks held by a client nobody may break.
	Holders []recordHolder `json:"holders,omitempty"`
}

type recordHolder struct {
	Addr  string    `json:"addr"` // the client instance, ip:port/nonce
	Image string    `json:"image"`
	Added time.Time `json:"added"`
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

// addHolders records client instances of the target (with a nonce: an
// instance, not the whole node) it does not hold yet.
func (r *record) addHolders(hs []ceph.Holder, at time.Time) {
	for _, h := range hs {
		if h.Addr.Nonce == 0 || len(r.Holders) >= maxRecordEntries {
			continue
		}
		addr := ceph.EntityAddr{IP: h.Addr.IP, Port: h.Addr.Port, Nonce: h.Addr.Nonce}.String()
		known := false
		for _, x := range r.Holders {
			known = known || x.Addr == addr
		}
		if !known {
			r.Holders = append(r.Holders, recordHolder{Addr: addr, Image: h.ImageSpec(), Added: at.UTC()})
		}
	}
}

// holderEntries are the blocklist entries of the recorded holders; one that
// does not parse is skipped (the node's entries still come off).
func (r record) holderEntries() []ceph.BlocklistEntry {
	var out []ceph.BlocklistEntry
	for _, h := range r.Holders {
		if e, err := ceph.ParseBlocklistEntry(h.Addr); err == nil && !e.IsRange() {
			out = append(out, e)
		}
	}
	return out
}

func (r record) encode() []byte {
	b, _ := json.Marshal(r) // a record always marshals
	return append(b, '\n')
}
