// Package heartbeat is kvmha's storage heartbeat: the record every host
// writes to every backend, the fence message a fencer leaves in a host's
// slot, the backends themselves (a file per host on a shared filesystem, a
// slot per host on a shared block device, and through package
// heartbeat/radosbackend an object per host in a RADOS pool), the daemon that
// writes the records and watches its own slot, and the rules that turn what a
// reader sees into "alive" or "provably dead". Package heartbeat/service wires
// the daemon to a host (its configuration file, backends, watchdog, libvirt).
//
// # The promise
//
// A host's daemon feeds its watchdog only while a quorum of its backends
// took its record within the last Timeout (see Quorum: one of one or two
// backends, a strict majority of three or more). So once a reader has seen a
// host's record unchanged for Timeout + Watchdog + a margin on enough of the
// host's backends that no quorum is left (n - Quorum(n) + 1 of them), that
// host has been reset by its watchdog, or was dead already. Everything is
// measured on the reader's own monotonic clock from the moment it saw the
// record change: the hosts' wall clocks are shown to humans, never used to
// decide. A record that announces no watchdog proves nothing by being stale.
//
// # Fence messages
//
// A fencer writes a Message to the target's message slot on every backend,
// addressed to the incarnation (one run of the daemon) it last saw. The
// target's daemon reads its slot with every beat; on a message for itself it
// stops feeding its watchdog, writes its record once more with an Ack, and
// fences itself (sysrq reboot or power-off, or a test command). The fencer
// succeeds on that Ack, on proof of staleness, or when the host's kernel boot
// id changed (it rebooted).
//
// # Guests and their disks
//
// A record lists the host's running guests, each with its disks (Disk: a
// file, a block device known by its stable ids, an RBD image) as package
// heartbeat/guestdisks resolves them, so that another host about to start a
// domain can tell whether a live host writes to the same storage (InUse, the
// start guard of ocf:kvmha:VirtualDomain). A record that does not fit its
// slot sheds detail in a fixed order and counts what it left out (see
// EncodeRecord); a reader takes a guest whose disks are not all listed as
// possibly using any disk, never as using none.
//
// Each slot has a single writer: the host writes its record, fencers write
// its message slot, so no read-modify-write race exists on any backend.
package heartbeat
