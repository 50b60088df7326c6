package rbd

import "github.com/kvmha/kvmha/internal/ocf"

// Driver names (the driver parameter).
const (
	driverAuto = "auto"
	driverKRBD = "krbd"
	driverNBD  = "nbd"
)

// defaultCephConf is where Ceph keeps the client configuration.
const defaultCephConf = "/etc/ceph/ceph.conf"

// params: those of ocf:ceph:rbd first, with their names and meanings, then
// this agent's own.
var params = []ocf.Param{
	{Name: "name", Type: ocf.TypeString, Required: true,
		ShortDesc: "RBD image name",
		LongDesc:  "Name of the RBD image to map (ocf:ceph:rbd calls it the device name)."},
	{Name: "pool", Type: ocf.TypeString, Default: "rbd",
		ShortDesc: "RADOS pool name",
		LongDesc:  "Name of the RADOS pool that holds the image."},
	{Name: "pool_namespace", Type: ocf.TypeString,
		ShortDesc: "RADOS pool namespace name",
		LongDesc:  "Namespace of the pool that holds the image; unset for the pool's default namespace."},
	{Name: "snap", Type: ocf.TypeString,
		ShortDesc: "Snapshot name",
		LongDesc:  "Name of a snapshot of the image to map instead of the image itself. Snapshots are always mapped read-only."},
	{Name: "cephconf", Type: ocf.TypeString, Default: defaultCephConf,
		ShortDesc: "Ceph configuration file",
		LongDesc: "Location of the Ceph configuration file. When it does not exist at its default location " +
			"and mon is set, no configuration file is read."},
	{Name: "mon", Type: ocf.TypeString,
		ShortDesc: "Monitor address(es)",
		LongDesc: "Address, or comma-separated list of addresses, of monitors to connect to; overrides the " +
			"configuration file's mon_host. Entries may be IP addresses with or without port, Ceph address " +
			"vectors ([v2:10.0.0.1:3300,v1:10.0.0.1:6789]) or DNS names; a name stands for every address it " +
			"resolves to, so one round-robin name can list every monitor."},
	{Name: "user", Type: ocf.TypeString, Default: "admin",
		ShortDesc: "Authentication username",
		LongDesc:  "The cephx id (without \"client.\") to map the image as."},
	{Name: "secret", Type: ocf.TypeString,
		ShortDesc: "Authentication secret file",
		LongDesc: "File containing the user's key: the bare base64 key, as rbd --keyfile reads it, or a keyring. " +
			"Unset: the keyring the Ceph configuration names (by default /etc/ceph/ceph.client.<user>.keyring). " +
			"The key is never put on a command line, in an environment or in a log: the kernel driver gets it in " +
			"its sysfs map request, rbd-nbd reads the file itself. Keep the file readable by root only."},

	{Name: "driver", Type: ocf.TypeString, Default: driverAuto, Choices: []string{driverAuto, driverKRBD, driverNBD},
		ShortDesc: "Kernel rbd driver or rbd-nbd",
		LongDesc: "How to map the image: krbd (the kernel rbd driver, mapped through /sys/bus/rbd), nbd " +
			"(rbd-nbd, librbd in user space behind an nbd device) or auto: krbd when the kernel supports every " +
			"feature of the image (/sys/bus/rbd/supported_features), else nbd. With krbd and an image feature the " +
			"kernel lacks, start fails naming the features and the 'rbd feature disable' command that fixes it."},
	{Name: "exclusive", Type: ocf.TypeBoolean, Default: "true",
		ShortDesc: "Refuse an image another client holds",
		LongDesc: "Before mapping, list the image's watchers and lock owners; if a client the OSD blocklist does " +
			"not fence holds it, wait up to 40 s for it to go (a crashed client's watch expires after 30 s), " +
			"then refuse, naming it. Locks of blocklisted clients are broken. Snapshot maps are not checked. " +
			"To also keep the exclusive lock for as long as the image is mapped, add exclusive to map_options."},
	{Name: "map_options", Type: ocf.TypeString,
		ShortDesc: "Map options",
		LongDesc: "Comma-separated options, as rbd device map -o takes them: for krbd kernel options " +
			"(queue_depth=128,alloc_size=65536,notrim,ms_mode=crc ...), for nbd rbd-nbd options " +
			"(io-timeout=60,try-netlink becomes --io-timeout 60 --try-netlink). name, secret, key and _pool_ns " +
			"are set by the agent."},
	{Name: "read_only", Type: ocf.TypeBoolean, Default: "false",
		ShortDesc: "Map read-only",
		LongDesc:  "Map the image read-only. Snapshots are read-only whatever this says."},
	{Name: "force_unmap", Type: ocf.TypeBoolean, Default: "false",
		ShortDesc: "Unmap a device that is in use",
		LongDesc: "Stop fails when the device is mounted, held by device-mapper or md, or open in a process, " +
			"naming what uses it. With force_unmap=true it unmaps anyway: krbd fails the outstanding I/O, " +
			"rbd-nbd disconnects."},
}
