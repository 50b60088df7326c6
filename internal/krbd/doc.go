// Package krbd reads and drives the kernel side of mapped RBD images: block
// devices of the kernel rbd driver (/sys/bus/rbd) and nbd devices served by
// rbd-nbd (/sys/block/nbdN and the rbd-nbd process). It forks nothing and
// parses no command output: everything comes from sysfs and procfs, whose
// quirks the types here document.
//
// Everything is read relative to a Tree, "/sys", "/proc" and "/dev" on a
// real host or folders of a fake tree in tests.
//
// # The rbd bus
//
//   - /sys/bus/rbd exists once the rbd module is loaded. add_single_major and
//     remove_single_major exist when the module runs with single_major=Y (the
//     default since Linux 3.14: every image is a minor of one major); add and
//     remove are the old per-image-major interface.
//   - A map is one write of "<monitors> <options> <pool> <image> [<snap>]" to
//     add_single_major. The monitors are "ip:port" separated by commas; the
//     options include name=<cephx id> and secret=<base64 key> (the key is in
//     the write and nowhere else). The write blocks until the map succeeded
//     or failed and returns the error as errno; the new device's id is not
//     returned: it is the directory that appears in /sys/bus/rbd/devices.
//   - /sys/bus/rbd/devices/<id>/ holds the image: pool, pool_ns (Linux 4.19+,
//     empty for the default namespace), name, current_snap ("-" for the
//     image itself), features ("0x%016llx"), size, major, minor, client_addr,
//     client_id, cluster_fsid, image_id. config_info is root-only because it
//     echoes the map options, secret included: this package never reads it.
//   - /sys/bus/rbd/supported_features (Linux 4.11+) is the feature mask the
//     driver can map; an image with other features fails to map.
//   - An unmap is a write of "<id>" (or "<id> force", Linux 4.9+: fail the
//     I/O in flight instead of refusing an open device) to
//     remove_single_major; EBUSY means the device is open.
//
// # nbd and rbd-nbd
//
//   - /sys/block/nbdN always exists (nbds_max devices, 16 by default); pid
//     appears while a server has the device connected, and names the thread
//     that connected it; size is 0 while nothing is connected.
//   - Which image an nbd device serves is known only from its server's
//     command line (/proc/<pid>/cmdline): "rbd-nbd ... map <spec> ...". This
//     is what rbd-nbd list-mapped itself does.
//   - SIGTERM makes rbd-nbd disconnect the device and exit.
//
// # Devices in use
//
// A block device is in use when it (or a partition of it) is mounted
// (/proc/self/mountinfo), held by a stacked driver (/sys/block/X/holders:
// device-mapper, md) or open in some process (/proc/<pid>/fd). krbd refuses
// to unmap an open device; nbd does not know, so the caller must look.
package krbd
