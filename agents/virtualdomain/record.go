package virtualdomain

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// The agent keeps, per resource and node, a record of the domain it started
// (ocf.Request.SaveRecord: HA_RSCTMP, emptied at boot as the guests are).
// It holds everything stop needs, so that stop can stop exactly that domain
// whatever the parameters say by then: a typo made after start
// (Agent.StopRecorded), a config file on storage that hangs or went away,
// an edited <name>. The UUID is the one libvirt gave the domain, which
// monitor uses when the config file names none: a handle built from name
// and UUID costs one round trip where a lookup by name costs two.
//
// Versions before the record kept "name\nuuid\n" in a .domain file beside
// it; that file is still read, so that guests started before an upgrade are
// stopped as well, and removed with the record.

// domainRecord is what this node's record says about the domain it started.
type domainRecord struct {
	Name string `json:"name"`
	UUID string `json:"uuid,omitempty"`
	// URI is the libvirt URI the domain was started on.
	URI string `json:"uri"`
	// LocalQemu: the domain runs as a qemu process of this host (a qemu/kvm
	// domain of a libvirtd on this host), so this host's process table can
	// tell whether it runs when libvirtd does not answer.
	LocalQemu bool `json:"local_qemu"`
	// Config is the file the domain was started from (for the operator).
	Config string `json:"config,omitempty"`
	// StorageLost is set by a depth-20 monitor that found the domain's qemu holding its
	// RBD image no more (its librbd session lost its watch, and the guest's I/O hangs):
	// the reason, with the time. Stop then destroys the domain at once, since a guest
	// that cannot write cannot shut down cleanly, and a graceful shutdown would only
	// wait out the stop's time with the guest down.
	StorageLost string `json:"storage_lost,omitempty"`
}

// target is the domain the record names.
func (r domainRecord) target() target {
	return target{name: r.Name, uuid: r.UUID, uri: r.URI, recorded: true, localQemu: r.LocalQemu, storageLost: r.StorageLost}
}

// recordOf describes a target for the record.
func (v *vd) recordOf(t target) domainRecord {
	r := domainRecord{Name: t.name, UUID: t.uuid, URI: t.uri, LocalQemu: v.whyNotLocal(t) == ""}
	if t.file != nil {
		r.Config = t.file.path
	}
	return r
}

// saveRecord writes the record of the domain t, which runs (or is about to
// run) on this node.
func (v *vd) saveRecord(req *ocf.Request, t target) error {
	if err := req.SaveRecord(v.recordOf(t)); err != nil {
		return fmt.Errorf("cannot write this node's record of domain %s (%s): %w", t.name, req.RecordPath(), err)
	}
	return nil
}

// noteStorageLost marks this node's record of domain name with why its qemu no longer
// holds its storage (see domainRecord.StorageLost). Without a current record of that
// domain there is nothing to mark: stop then shuts down gracefully as usual.
func (v *vd) noteStorageLost(req *ocf.Request, name, why string) {
	var rec domainRecord
	if ok, err := req.LoadRecord(&rec); err != nil || !ok || rec.Name != name {
		return
	}
	rec.StorageLost = time.Now().UTC().Format(time.RFC3339) + " " + why
	if err := req.SaveRecord(rec); err != nil {
		req.Log.Warnf("cannot note in this node's record that domain %s lost its storage: %v", name, err)
	}
}

// legacyRecordPath is the .domain file of versions before the record.
func legacyRecordPath(req *ocf.Request) string {
	return strings.TrimSuffix(req.RecordPath(), ".record") + ".domain"
}

// hasRecord reports whether this node has a record of the resource, in
// either form (an unreadable one counts; the runtime's HasRecord counts the
// legacy file through Agent.LegacyRecords).
func (v *vd) hasRecord(req *ocf.Request) bool { return req.HasRecord() }

// hasCurrentRecord reports whether the record exists in its current form.
func hasCurrentRecord(req *ocf.Request) bool {
	_, err := os.Lstat(req.RecordPath())
	return !errors.Is(err, fs.ErrNotExist)
}

// maxLegacyRecord bounds the legacy file read: name and UUID.
const maxLegacyRecord = 4 << 10

// loadRecord reads this node's record, else the legacy .domain file, whose
// domain is taken to run on legacyURI (the old agent kept no URI). ok is
// false when there is neither; a record that cannot be read or parsed is an
// error: guessing "nothing started" from it could get a guest started twice.
func (v *vd) loadRecord(req *ocf.Request, legacyURI string) (rec domainRecord, ok bool, err error) {
	ok, err = req.LoadRecord(&rec)
	if err != nil {
		return domainRecord{}, false, err
	}
	if ok {
		if rec.Name == "" || rec.URI == "" {
			return domainRecord{}, false, fmt.Errorf("this node's record of the resource (%s) names no domain or URI", req.RecordPath())
		}
		return rec, true, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	path := legacyRecordPath(req)
	data, err := files.Read(ctx, path, maxLegacyRecord)
	if errors.Is(err, fs.ErrNotExist) {
		return domainRecord{}, false, nil
	}
	if err != nil {
		return domainRecord{}, false, fmt.Errorf("cannot read this node's record of the resource: %w", err)
	}
	name, rest, _ := strings.Cut(string(data), "\n")
	uuid, _, _ := strings.Cut(rest, "\n")
	if name == "" {
		return domainRecord{}, false, fmt.Errorf("this node's record of the resource (%s) names no domain", path)
	}
	return domainRecord{Name: name, UUID: uuid, URI: legacyURI, LocalQemu: v.isLocalURI(legacyURI)}, true, nil
}

// dropRecord removes the record in both forms, once the domain is stopped
// or gone elsewhere. A record left behind only costs a later stop a look.
func (v *vd) dropRecord(req *ocf.Request) {
	if err := req.DropRecord(); err != nil {
		req.Log.Warnf("cannot remove this node's record of the resource: %v", err)
	}
	if err := os.Remove(legacyRecordPath(req)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		req.Log.Warnf("cannot remove %s: %v", legacyRecordPath(req), err)
	}
}

// fallbackURI is the URI for a legacy record when the parameters cannot be
// trusted: the hypervisor parameter if it is a URI at all, else libvirt's
// default. (req.String is safe on any value; only typed reads panic.)
func (v *vd) fallbackURI(req *ocf.Request) string {
	if uri := req.String(pHypervisor); uri != "" && libvirt.CheckURI(uri) == nil {
		return uri
	}
	return v.defaultURI()
}
