// Package cephapi is what ocf:kvmha:rbd asks of Ceph before mapping: plain
// Go types and the OpenFunc the agent's static build compiles against
// without linking librados. Package cephlinked answers with go-ceph in the
// agent's Ceph-linked twin (internal/twin says why there are two builds).
package cephapi

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Access says how to reach the cluster and as whom. At most one of Keyring
// and KeyFile is set; with neither, librados searches the keyrings the
// configuration names.
type Access struct {
	ConfPath string // ceph.conf; "" reads none
	User     string // cephx id without "client."
	Keyring  string // a keyring file
	KeyFile  string // a file holding the bare key (rbd --keyfile)
	// MonHosts overrides mon_host: addresses or DNS names (every address
	// of a name is tried).
	MonHosts []string
}

// Image names an image, or a snapshot of it.
type Image struct {
	Pool, Namespace, Name, Snap string
}

// ImageInfo is what start needs to know about the image.
type ImageInfo struct {
	ID       string
	Features uint64 // RBD feature bits
	Size     uint64 // bytes; the snapshot's for a snapshot
}

// Holder is a client that has the image open (a watcher) or owns a lock on
// it (a locker).
type Holder struct {
	Client  string // "client.4211"
	Address string // entity address, "10.0.0.2:0/3282"
	Kind    string // "watcher" or "locker"
	Cookie  string // lock cookie, for lockers
	// Blocklisted: the OSDs refuse this client; it cannot write.
	Blocklisted bool
}

// Holders is every holder of an image.
type Holders struct {
	List []Holder
	// BlocklistUnknown is set when holders exist but the blocklist could
	// not be read: no holder is then marked blocklisted (the safe side).
	BlocklistUnknown error
}

// Monitor is one monitor's msgr1 and msgr2 addresses (invalid if unknown).
type Monitor struct {
	Msgr1, Msgr2 netip.AddrPort
}

// ConnectError is a session that could not be opened, with what was tried: the monitors as
// configured and where that list came from, and, when none answered, what each address
// said to a plain TCP connection (librados only says it timed out).
type ConnectError struct {
	User     string
	Monitors string // mon_host as configured, names unresolved; "" when unknown
	Source   string // where Monitors comes from: "mon" or "cephconf <path>"
	// Timeout is set when no monitor answered: how long the session waited.
	Timeout time.Duration
	// Probes are what each monitor address said when dialled, e.g. "127.0.0.1:6789:
	// connection refused"; an address that accepted a connection says "accepts
	// connections".
	Probes []string
	Err    error // the library's error
}

func (e *ConnectError) Unwrap() error { return e.Err }

// Error puts the monitors and the cause first: an exit reason keeps 128 bytes.
func (e *ConnectError) Error() string {
	var b strings.Builder
	mons := e.Monitors
	if mons == "" {
		mons = "(unknown)"
	}
	if e.Timeout > 0 {
		fmt.Fprintf(&b, "no Ceph monitor of %s (%s) answered within %s", mons, e.Source, e.Timeout.Round(100*time.Millisecond))
	} else {
		fmt.Fprintf(&b, "connecting to the Ceph monitors %s (%s) as client.%s: %v", mons, e.Source, e.User, e.Err)
	}
	if len(e.Probes) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Probes, "; "))
	}
	return b.String()
}

// ParamError is a setting the session cannot use, found before any monitor is contacted:
// Param says which one ("cephconf": librados refused the file; "mon": not a mon_host).
type ParamError struct {
	Param string
	Err   error
}

func (e *ParamError) Error() string { return e.Err.Error() }

func (e *ParamError) Unwrap() error { return e.Err }

// Errors the session returns (wrapped); the agent tests them with
// errors.Is.
var (
	ErrImageNotFound    = errors.New("no such image")
	ErrSnapshotNotFound = errors.New("no such snapshot")
)

// Session is a connection to the cluster. Every call is bounded by ctx.
type Session interface {
	// Image reads the image's (or snapshot's) id, features and size.
	Image(ctx context.Context, img Image) (ImageInfo, error)
	// Holders lists the clients other than this session that hold the
	// image, and which of them the blocklist fences.
	Holders(ctx context.Context, img Image) (Holders, error)
	// BreakLock breaks a lock h (a locker) owns.
	BreakLock(ctx context.Context, img Image, h Holder) error
	// Monitors is the session's mon_host, names resolved, per monitor.
	Monitors() ([]Monitor, error)
	// MonHost is the session's mon_host, names resolved, in Ceph's syntax.
	MonHost() (string, error)
	// KeyringPaths is where librados looks for the user's key: the
	// configuration's keyring search list.
	KeyringPaths() ([]string, error)
	Close()
}

// OpenFunc opens a session (cephlinked.Open in the Ceph-linked build).
type OpenFunc = func(ctx context.Context, a Access) (Session, error)
