// Package doctor is kvmha's host preflight ("kvmha doctor"): independent
// checks, each with a verdict (pass, warn, fail, skip), what it found, and
// for warn and fail a fix - a command or a package to install.
//
// # Checks
//
//	libvirt        libvirtd answers (libvirt RPC); its default emulator, KVM or not
//	qemu-rbd       that emulator can open rbd: disks (see qemu.go: ELF files, no qemu started)
//	qemu-img-rbd   qemu-img can too
//	ceph-mon       every mon_host address - every A and AAAA record of each name,
//	               msgr2 and msgr1 - accepts TCP and sends a Ceph banner
//	cephx          the user authenticates with its keyring and lists every pool's images
//	krbd           kernel rbd loaded, built in, or installed and not blocked in modprobe.d
//	krbd-features  /sys/bus/rbd/supported_features against every image of the pools
//	nbd            the nbd module and rbd-nbd
//	configfs       configfs mounted, registered, or its module installed
//	ocfs2          ocfs2, ocfs2_stack_o2cb, ocfs2_dlmfs and ocfs2-tools
//	o2cb-port      o2net's port (7777, or cluster.conf's) free or held by o2net
//	clock          host clock against the monitors' (see clock.go)
//	node-name      Pacemaker's name for the node (crm_node -n) against the heartbeat
//	               daemon's configuration, state and record on each backend
//	systemd-order  pacemaker.service starts after libvirtd (virtqemud), virtlockd and
//	               virtlogd, from the unit files and drop-ins (see systemd.go), so that
//	               at shutdown Pacemaker moves the guests away before libvirtd stops
//	fence-timing   from the CIB and corosync.conf: every fence_kvmha device has the time
//	               to prove a silent host dead, heartbeats have a watchdog, corosync's
//	               token + consensus is less than stonith-timeout (see fencetiming.go)
//
// Families (libvirt, qemu, ceph, kernel, o2cb, clock, cluster) select
// several at once.
//
// # Running
//
// RunChecks runs the checks concurrently, each within its budget and the
// run's context; one that does not return in time is abandoned and fails.
// What checks share is computed once per run (lazy): the probe of the
// monitors, one Ceph session (not attempted when no monitor answers), one
// answer of libvirtd, the kernel's module files. A check that cannot go on
// because what it builds on failed (no session for the clock) skips and
// names the check that reports the cause, when that check runs too; alone,
// it reports the failure itself. Checks that do not apply (no heartbeat
// daemon configured, no Pacemaker, the rbd module not loaded so its
// features are unknown) skip with the reason.
//
// # Sources
//
// Files first: /sys, /proc, /lib/modules/$(uname -r)/modules.dep and
// modules.builtin, modprobe.d, /etc/os-release (to name packages), ELF
// headers of qemu, systemd's unit files, corosync.conf. Then libraries:
// librados through internal/ceph, libvirt RPC through internal/libvirt,
// heartbeat backends through internal/heartbeat. The forks are crm_node -n
// and cibadmin --query (the CIB's IPC has no Go client; --cib FILE reads a
// saved CIB instead). Every host file is read under Root, so tests run the
// checks on fake trees; Ceph, libvirtd and Pacemaker sit behind the
// function fields of Doctor.
package doctor
