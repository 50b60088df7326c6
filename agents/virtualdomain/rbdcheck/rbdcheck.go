// Package rbdcheck is the contract between ocf:kvmha:VirtualDomain and the
// code that answers "who holds this RBD image?" with go-ceph (package
// cephcheck).
//
// Why the split: a process linked with librados and librbd spends 15-50 ms
// (about 15 ms of CPU) loading them before main runs, and any cgo linking
// costs another 1.5 ms; the agent's monitor must cost a few milliseconds.
// Only start and the depth-20 monitor need Ceph, so the agent is built
// twice from the same sources: VirtualDomain-ceph (build tag kvmha_ceph),
// which links cephcheck, embedded into VirtualDomain, pure Go without cgo,
// which execs it from memory for those two actions (package twin). This
// package holds only plain Go types, so the agent can depend on it without
// linking Ceph.
package rbdcheck

import (
	"context"
	"net/netip"
)

// Access says how to reach the Ceph cluster and as whom.
type Access struct {
	ConfPath string // ceph.conf; "" reads none
	User     string // cephx id without "client."
	Keyring  string // keyring file; "" leaves librados' default search
	// MonHosts overrides mon_host: addresses or DNS names, each name tried
	// with all its addresses.
	MonHosts []string
}

// Image names an RBD image.
type Image struct {
	Pool, Namespace, Name string
}

// String is pool[/namespace]/image.
func (i Image) String() string {
	if i.Namespace != "" {
		return i.Pool + "/" + i.Namespace + "/" + i.Name
	}
	return i.Pool + "/" + i.Name
}

// Holder is one client holding an image: a watcher (it has the image open)
// or the owner of a lock on it.
type Holder struct {
	Address     string     // Ceph entity address, e.g. 10.0.0.2:0/3282
	IP          netip.Addr // its IP
	Client      string     // e.g. client.4211
	Kind        string     // "watcher" or "locker"
	Blocklisted bool       // the OSDs refuse this client: it cannot write
}

// Status is what Ceph says about one image.
type Status struct {
	Exists  bool
	Holders []Holder
	// BlocklistUnknown is set when holders exist but the blocklist could
	// not be read (the user's caps may not allow it): Blocklisted is then
	// false for every holder, the safe assumption.
	BlocklistUnknown error
}

// Inspector answers about images of one cluster. Close releases it.
type Inspector interface {
	Inspect(ctx context.Context, img Image) (Status, error)
	Close()
}

// OpenFunc opens an Inspector (cephcheck.Open in VirtualDomain-ceph).
type OpenFunc = func(ctx context.Context, access Access) (Inspector, error)
