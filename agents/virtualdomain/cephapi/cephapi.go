// Package cephapi is what ocf:kvmha:VirtualDomain asks of Ceph ("who holds
// this RBD image?"): plain Go types and the OpenFunc the agent's static
// build compiles against without linking librados. Package cephlinked
// answers with go-ceph in the agent's Ceph-linked twin (internal/twin says
// why there are two builds).
package cephapi

import (
	"context"
	"net/netip"

	"github.com/kvmha/kvmha/internal/heartbeat"
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
	// FenceClient blocklists one client instance (its exact address, with its
	// nonce: no other client of its host is touched), for a dead client whose
	// lock nobody may break otherwise.
	FenceClient(ctx context.Context, address string) error
	Close()
}

// HeartbeatReader is an Inspector that also reads the storage heartbeat's
// rados:// backends through its session (cephlinked's does), for the start
// guard (the heartbeat parameter). The backend only reads; it is done with
// when the Inspector is closed.
type HeartbeatReader interface {
	HeartbeatBackend(spec heartbeat.Spec) heartbeat.Backend
}

// OpenFunc opens an Inspector (cephlinked.Open in VirtualDomain-ceph).
type OpenFunc = func(ctx context.Context, access Access) (Inspector, error)
