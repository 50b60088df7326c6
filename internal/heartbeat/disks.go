package heartbeat

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Disk kinds (Disk.Kind). A reader accepts any short lowercase kind, so that
// a later writer may add one; kinds it does not know match nothing.
const (
	DiskFile    = "file"    // Source: the image file's path
	DiskBlock   = "block"   // Source: the block device's path
	DiskRBD     = "rbd"     // Source: pool/[namespace/]image
	DiskNetwork = "network" // Source: protocol:name (iSCSI, NBD, Gluster, ...; not RBD)
	DiskVolume  = "volume"  // Source: pool/volume of a libvirt storage pool not resolved
)

// Disk is one disk of a running guest, as its host identifies it.
type Disk struct {
	// Target is the guest's device name (vda, sdb).
	Target string `json:"target,omitempty"`
	Kind   string `json:"kind"`
	// Source is what the domain XML names: a file or device path (cleaned),
	// pool/[namespace/]image, protocol:name, or pool/volume.
	Source string `json:"src"`
	// Real is a file's or device's path with every symbolic link followed,
	// when it differs from Source.
	Real string `json:"real,omitempty"`
	// Volume is pool/volume when the disk is a libvirt storage pool volume
	// that its host resolved to a file, device or image.
	Volume string `json:"vol,omitempty"`
	// IDs are a block device's stable identities, the same on every host
	// that sees the device (see package heartbeat/guestdisks): "wwn:…",
	// "eui:…", "wwid:…", "serial:…", "dm:…", "by-id:…"; a partition's end
	// in "#p" and its number.
	IDs []string `json:"ids,omitempty"`
	// ReadOnly and Shareable disks may be open on several hosts by design.
	ReadOnly  bool    `json:"ro,omitempty"`
	Shareable bool    `json:"shared,omitempty"`
	IO        *DiskIO `json:"io,omitempty"`
}

// DiskIO are one disk's cumulative I/O counters.
type DiskIO struct {
	RdReqs  uint64 `json:"rd_reqs"`
	RdBytes uint64 `json:"rd_bytes"`
	WrReqs  uint64 `json:"wr_reqs"`
	WrBytes uint64 `json:"wr_bytes"`
}

// Bounds of a guest's disks in a record.
const (
	// MaxGuestDisks bounds a guest's disk list; the writer counts the rest
	// in DisksMore (and marks the guest DisksIncomplete when one of them is
	// writable).
	MaxGuestDisks = 64
	// MaxDiskIDs bounds a disk's IDs.
	MaxDiskIDs = 8
	// MaxDiskPath bounds Source, Real and Volume.
	MaxDiskPath = 1024
)

var diskKindRE = regexp.MustCompile(`^[a-z]{1,16}$`)

// Writable: neither read-only nor shareable.
func (d Disk) Writable() bool { return !d.ReadOnly && !d.Shareable }

func (d Disk) check() error {
	switch {
	case !diskKindRE.MatchString(d.Kind):
		return fmt.Errorf("disk kind %q", agentlog.Clip(d.Kind))
	case d.Source == "" || len(d.Source) > MaxDiskPath || len(d.Real) > MaxDiskPath || len(d.Volume) > MaxDiskPath:
		return errors.New("bad disk source")
	case len(d.Target) > maxText:
		return errors.New("disk target too long")
	case len(d.IDs) > MaxDiskIDs:
		return fmt.Errorf("%d disk ids", len(d.IDs))
	}
	for _, id := range d.IDs {
		if id == "" || len(id) > maxText {
			return errors.New("bad disk id")
		}
	}
	return nil
}

// Keys are the disk's identities: two disks are the same storage when they
// share one. A file is known by its paths as written and with its links
// followed; a block device by its stable ids, or by its paths when it has
// none (a host that sees no id for a device cannot tell it from another
// device of the same name, so the paths are all it has); an image by
// pool/[namespace/]image; a pool volume by pool/volume as well.
func (d Disk) Keys() []string {
	var keys []string
	add := func(prefix, v string) {
		if v != "" && !slices.Contains(keys, prefix+v) {
			keys = append(keys, prefix+v)
		}
	}
	add("vol:", d.Volume)
	switch d.Kind {
	case DiskFile:
		add("path:", d.Source)
		add("path:", d.Real)
	case DiskBlock:
		for _, id := range d.IDs {
			add("id:", id)
		}
		if len(d.IDs) == 0 {
			add("path:", d.Source)
			add("path:", d.Real)
		}
	case DiskRBD:
		add("rbd:", d.Source)
	case DiskNetwork:
		add("net:", d.Source)
	case DiskVolume:
		add("vol:", d.Source)
	}
	return keys
}

// SameDisk reports whether a and b are the same storage (see Disk.Keys).
func SameDisk(a, b Disk) bool {
	bk := b.Keys()
	for _, k := range a.Keys() {
		if slices.Contains(bk, k) {
			return true
		}
	}
	return false
}

// Describe names the disk for messages: "vda (file /srv/a.img)".
func (d Disk) Describe() string {
	what := d.Kind + " " + d.Source
	if d.Target != "" {
		return d.Target + " (" + what + ")"
	}
	return what
}

// Use is what a host is about to run: a domain and its disks.
type Use struct {
	// Name and UUID of the domain; UUID may be empty (then Name decides).
	Name, UUID string
	// Disks of the domain; only the writable ones are looked for.
	Disks []Disk
}

// SameDomain reports whether g is the domain u names: by UUID when both
// have one, else by name.
func (u Use) SameDomain(g Guest) bool {
	if u.UUID != "" && g.UUID != "" {
		return strings.EqualFold(u.UUID, g.UUID)
	}
	return u.Name == g.Name
}

// Conflicts lists what r says its host runs that u would use too: the domain
// itself, a guest using one of u's writable disks (writable there too), or
// what r leaves unknown (guests left out of the record, a guest whose disks
// are not all listed, when u has a writable disk). Empty when nothing.
func (r *Record) Conflicts(u Use) []string {
	var out []string
	var writable []Disk
	for _, d := range u.Disks {
		if d.Writable() {
			writable = append(writable, d)
		}
	}
	for _, g := range r.Guests {
		if u.SameDomain(g) {
			what := "runs domain " + u.Name
			if g.Name != u.Name {
				what += " (as " + g.Name + ")"
			}
			out = append(out, what)
			continue
		}
		if len(writable) == 0 {
			continue
		}
		if !r.GuestDisks || g.DisksIncomplete {
			why := "its disks are not all listed"
			if !r.GuestDisks {
				why = "its record lists no disks (an older kvmha)"
			}
			out = append(out, fmt.Sprintf("runs guest %s, and %s: it may use %s", g.Name, why, writable[0].Describe()))
			continue
		}
		for _, theirs := range g.Disks {
			if !theirs.Writable() {
				continue
			}
			for _, ours := range writable {
				if SameDisk(ours, theirs) {
					out = append(out, fmt.Sprintf("runs guest %s, writing to %s (its %s)", g.Name, ours.Describe(), orSource(theirs)))
				}
			}
		}
	}
	if r.GuestsMore > 0 {
		out = append(out, fmt.Sprintf("runs %d guests its record leaves out (its slot is full): %s may be one of them, or use its disks", r.GuestsMore, u.Name))
	}
	return out
}

func orSource(d Disk) string {
	if d.Target != "" {
		return d.Target
	}
	return d.Source
}
