// Package virtualdomain is ocf:kvmha:VirtualDomain: libvirt/KVM guests
// whose disks live on Ceph RBD, a drop-in for ocf:heartbeat:VirtualDomain
// (resource-agents 4.12) that talks to libvirtd over its RPC protocol,
// finishes every action within its timeout even when libvirtd or Ceph
// hang, and never starts a guest whose RBD images another live host holds.
// README.md has the compatibility table.
package virtualdomain

import (
	"slices"
	"time"

	"github.com/kvmha/kvmha/internal/ocf"
)

// Version of the agent (not of OCF).
const Version = "1.0.0"

// vd holds the agent's dependencies; its methods are the action handlers.
// One process runs one action.
type vd struct {
	deps
	// configRead caches the config file between validation and the action.
	configRead struct {
		path string
		file *domainFile
		err  error
	}
	// unusable is why a probe's parameters cannot be used, when validate
	// let it go on to judge the domain this node's record names.
	unusable error
}

// newAgent declares the agent with the given dependencies.
func newAgent(d deps) *ocf.Agent {
	v := &vd{deps: d}
	return &ocf.Agent{
		Name:    "VirtualDomain",
		Version: Version,
		ShortDesc: "Manages virtual domains through the libvirt virtualization framework " +
			"(RBD-safe, no forks per monitor)",
		LongDesc: "Runs a libvirt domain (a KVM guest) from its domain XML, like " +
			"ocf:heartbeat:VirtualDomain, whose parameters it accepts with the same meaning and " +
			"defaults. It speaks libvirt's RPC protocol instead of running virsh, finishes every " +
			"action within its timeout even when libvirtd or Ceph hang, and before a start checks " +
			"that no other live host holds the guest's RBD images open (watchers and lock owners), " +
			"refusing with the holder's address otherwise. Monitor depth 10 also pings the qemu " +
			"guest agent when the guest has one; depth 20 also checks that this node's qemu holds " +
			"every RBD disk.",
		Params: append(slices.Clone(params), heartbeatParams...),
		Timeouts: map[string]time.Duration{
			ocf.ActionStart:       90 * time.Second,
			ocf.ActionStop:        90 * time.Second,
			ocf.ActionMonitor:     30 * time.Second,
			ocf.ActionMigrateFrom: 60 * time.Second,
			ocf.ActionMigrateTo:   120 * time.Second,
			ocf.ActionValidateAll: 5 * time.Second,
		},
		Monitors:     []ocf.MonitorOp{{Interval: 10 * time.Second, Timeout: 30 * time.Second}},
		Start:        v.start,
		Stop:         v.stop,
		StopRecorded: v.stopRecorded,
		// A monitor whose parameters the runtime refuses (a value of the wrong type)
		// judges the recorded domain too, as one validate refuses does.
		MonitorRecorded: v.monitorRefused,
		LegacyRecords:   func(req *ocf.Request) []string { return []string{legacyRecordPath(req)} },
		Monitor:         v.monitor,
		MigrateTo:       v.migrateTo,
		MigrateFrom:     v.migrateFrom,
		Validate:        v.validateWithHeartbeat,
	}
}
