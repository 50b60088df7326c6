// Package ceph is kvmha's small adapter over go-ceph (librados and librbd):
// a session opened from a ceph.conf, a cephx id, a keyring file and an
// optional mon_host; the OSD blocklist; the clients that hold an RBD image;
// small values in the monitors' config-key store.
//
//	conn, err := ceph.Connect(ctx, ceph.Config{ConfPath: "/etc/ceph/ceph.conf",
//		User: "fence", Keyring: "/etc/ceph/ceph.client.fence.keyring"})
//	defer conn.Close()
//	live, err := conn.LiveHolders(ctx, "rbd", "", "vm1-disk0") // who could still write?
//
// # Deadlines
//
// librados calls take no context. Every method here runs its librados call
// in a goroutine and returns when the context ends, abandoning the call; the
// session's client_mount_timeout, rados_mon_op_timeout and
// rados_osd_op_timeout are set at Connect from the time left before the
// context's deadline, so abandoned calls also end soon after. A session with
// an abandoned call is never shut down (that would crash under the running
// call): agents are short-lived processes, and exiting frees it.
//
// # Monitors
//
// Config.MonHosts (or the mon_host of the configuration file) may name
// several monitors, address vectors, or DNS names; every name is resolved
// within the context to all its A and AAAA records and librados gets the
// whole list, so a monitor that is down or a name with several addresses
// costs nothing but a retry.
//
// # Keys
//
// The cephx key is read by librados from the keyring file only. It is never
// passed as a config value, an argument or an environment variable, and this
// package never reads or logs it.
//
// # Blocklist
//
// DecodeBlocklist reads "osd blocklist ls" in every format Ceph has printed
// (Pacific prints two JSON arrays back to back, addresses then ranges);
// Blocklist.IsBlocklisted applies the OSDs' own rule (exact address, whole
// IP as ip:0/0, or a range). BlocklistAdd sends "expire" as a JSON float, as
// the monitors require. WaitForLatestOSDMap after a change orders every
// later operation of the session after it.
package ceph
