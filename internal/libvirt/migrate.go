package libvirt

import (
	"context"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// MigrateFlags select migration behaviour (virDomainMigrateFlags). Migrate
// always adds live and peer-to-peer.
type MigrateFlags uint32

// The flags virsh migrate exposes that make sense for a cluster agent.
const (
	MigrateTunnelled      = MigrateFlags(golibvirt.MigrateTunnelled)
	MigratePersistDest    = MigrateFlags(golibvirt.MigratePersistDest)
	MigrateUndefineSource = MigrateFlags(golibvirt.MigrateUndefineSource)
	MigrateUnsafe         = MigrateFlags(golibvirt.MigrateUnsafe)
	MigrateCompressed     = MigrateFlags(golibvirt.MigrateCompressed)
	MigrateAbortOnError   = MigrateFlags(golibvirt.MigrateAbortOnError)
	MigrateAutoConverge   = MigrateFlags(golibvirt.MigrateAutoConverge)
	MigratePostcopy       = MigrateFlags(golibvirt.MigratePostcopy)
	MigrateTLS            = MigrateFlags(golibvirt.MigrateTLS)
	MigrateParallel       = MigrateFlags(golibvirt.MigrateParallel)
)

// MigrateSpec describes one live migration.
type MigrateSpec struct {
	// DestURI is the destination libvirtd as the source libvirtd reaches it
	// (peer-to-peer), e.g. qemu+tcp://node2/system.
	DestURI string
	// MigrateURI, when set, is where the migration data goes, e.g.
	// tcp:node2-mig:49152; empty lets libvirt choose.
	MigrateURI string
	// BandwidthMiBs limits the transfer in MiB/s; 0 is unlimited.
	BandwidthMiBs uint64
	Flags         MigrateFlags
}

// Migration parameter names (VIR_MIGRATE_PARAM_*).
const (
	paramMigrateURI = "migrate_uri"
	paramBandwidth  = "bandwidth"
)

// Migrate live-migrates d peer to peer: the source libvirtd connects to
// spec.DestURI itself. It returns when the migration ended; when ctx ends
// first the call is abandoned (see the package doc) while the migration may
// still run: callers that want it stopped call AbortJob before their
// deadline.
func (c *Conn) Migrate(ctx context.Context, d Domain, spec MigrateSpec) error {
	var params []golibvirt.TypedParam
	if spec.MigrateURI != "" {
		params = append(params, golibvirt.TypedParam{Field: paramMigrateURI,
			Value: *golibvirt.NewTypedParamValueString(spec.MigrateURI)})
	}
	if spec.BandwidthMiBs > 0 {
		params = append(params, golibvirt.TypedParam{Field: paramBandwidth,
			Value: *golibvirt.NewTypedParamValueUllong(spec.BandwidthMiBs)})
	}
	flags := golibvirt.DomainMigrateFlags(spec.Flags) | golibvirt.MigrateLive | golibvirt.MigratePeer2peer
	return c.do(ctx, "migrate "+d.Name+" to "+spec.DestURI, func() error {
		_, err := c.rpc.DomainMigratePerform3Params(d.ref, golibvirt.OptString{spec.DestURI}, params, nil, flags)
		return err
	})
}

// JobProgress is the state of a domain's current job (a migration here).
type JobProgress struct {
	Active        bool
	Elapsed       time.Duration
	DataTotal     uint64 // bytes
	DataProcessed uint64
	DataRemaining uint64
}

// JobProgress reports the domain's current job.
func (c *Conn) JobProgress(ctx context.Context, d Domain) (JobProgress, error) {
	return call(ctx, c, "job of "+d.Name, func() (JobProgress, error) {
		typ, elapsed, _, total, processed, remaining, _, _, _, _, _, _, err := c.rpc.DomainGetJobInfo(d.ref)
		return JobProgress{
			Active:        golibvirt.DomainJobType(typ) != golibvirt.DomainJobNone,
			Elapsed:       time.Duration(elapsed) * time.Millisecond,
			DataTotal:     total,
			DataProcessed: processed,
			DataRemaining: remaining,
		}, err
	})
}

// AbortJob cancels the domain's current job; an aborted migration leaves
// the domain running on the source.
func (c *Conn) AbortJob(ctx context.Context, d Domain) error {
	return c.do(ctx, "abort job of "+d.Name, func() error { return c.rpc.DomainAbortJob(d.ref) })
}

// SetMigrationMaxDowntime sets the longest pause (ms) a running migration
// may impose on the guest when it switches over.
func (c *Conn) SetMigrationMaxDowntime(ctx context.Context, d Domain, ms uint64) error {
	return c.do(ctx, "set migration downtime of "+d.Name, func() error {
		return c.rpc.DomainMigrateSetMaxDowntime(d.ref, ms, 0)
	})
}
