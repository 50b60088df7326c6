package krbd

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
)

// Device is an image mapped by the kernel rbd driver, as
// /sys/bus/rbd/devices/<id> describes it.
type Device struct {
	ID   int
	Spec Spec // pool, pool_ns, name, current_snap ("-" read as "")
	// Features are the image's features as mapped.
	Features Features
	// Size in bytes; a snapshot's size, for a snapshot.
	Size uint64
	// Major and Minor are the block device's numbers; with single_major
	// every device shares the major and minor is id << 4 (partitions
	// take the minors in between).
	Major, Minor uint32
	ClusterFSID  string // the cluster the image is in
	ClientAddr   string // this kernel client's address ("10.0.0.1:0/123456")
	ClientID     string // "client4162"
}

// Name is the block device's name: "rbd<id>".
func (d Device) Name() string { return "rbd" + strconv.Itoa(d.ID) }

// Node is the device node under the tree's /dev.
func (t Tree) Node(d Device) string { return join(t.Dev, d.Name()) }

// ReadDevice reads /sys/bus/rbd/devices/<id>. An error that satisfies
// errors.Is(err, os.ErrNotExist) means the device is gone (it may be
// unmapped while it is read).
func (t Tree) ReadDevice(id int) (Device, error) {
	dir := t.bus("devices", strconv.Itoa(id))
	d := Device{ID: id}
	var err error
	attr := func(name string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = readAttr(join(dir, name))
		return v
	}
	d.Spec.Pool = attr("pool")
	d.Spec.Image = attr("name")
	d.Spec.Snap = attr("current_snap")
	if err != nil {
		return Device{}, fmt.Errorf("rbd device %d: %w", id, err)
	}
	if d.Spec.Snap == headSnap {
		d.Spec.Snap = ""
	}
	// pool_ns appeared in Linux 4.19; older kernels map the default
	// namespace only.
	ns, nsErr := readAttr(join(dir, "pool_ns"))
	switch {
	case nsErr == nil:
		d.Spec.Namespace = ns
	case !errors.Is(nsErr, os.ErrNotExist):
		return Device{}, fmt.Errorf("rbd device %d: %w", id, nsErr)
	case !exists(dir):
		return Device{}, fmt.Errorf("rbd device %d: %w", id, nsErr)
	}
	if d.Spec.Pool == "" || d.Spec.Image == "" {
		return Device{}, fmt.Errorf("rbd device %d: empty pool or image name in sysfs", id)
	}

	feat := attr("features")
	d.ClusterFSID = attr("cluster_fsid")
	d.ClientAddr = attr("client_addr")
	d.ClientID = attr("client_id")
	if err != nil {
		return Device{}, fmt.Errorf("rbd device %d: %w", id, err)
	}
	if d.Features, err = ParseFeatures(feat); err != nil {
		return Device{}, fmt.Errorf("rbd device %d: %w", id, err)
	}
	if d.Size, err = readUint(join(dir, "size"), 64); err != nil {
		return Device{}, fmt.Errorf("rbd device %d: %w", id, err)
	}
	major, err := readUint(join(dir, "major"), 32)
	if err != nil {
		return Device{}, fmt.Errorf("rbd device %d: %w", id, err)
	}
	minor, err := readUint(join(dir, "minor"), 32)
	if err != nil {
		return Device{}, fmt.Errorf("rbd device %d: %w", id, err)
	}
	d.Major, d.Minor = uint32(major), uint32(minor)
	return d, nil
}

// DeviceIDs lists the ids in /sys/bus/rbd/devices in increasing order;
// none when the module is not loaded. Names that are not ids are errors:
// the kernel makes none.
func (t Tree) DeviceIDs() ([]int, error) {
	names, err := listDir(t.bus("devices"))
	if err != nil {
		return nil, err
	}
	ids := make([]int, 0, len(names))
	for _, n := range names {
		id, err := checkID(n)
		if err != nil {
			return nil, fmt.Errorf("/sys/bus/rbd/devices: %w", err)
		}
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids, nil
}

// Devices reads every mapped device; devices unmapped while they are read
// are left out.
func (t Tree) Devices() ([]Device, error) {
	ids, err := t.DeviceIDs()
	if err != nil {
		return nil, err
	}
	devs := make([]Device, 0, len(ids))
	for _, id := range ids {
		d, err := t.ReadDevice(id)
		if vanished(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		devs = append(devs, d)
	}
	return devs, nil
}

// Mapped returns the devices that map spec (normally one: the kernel maps
// an image twice only when asked twice).
func (t Tree) Mapped(spec Spec) ([]Device, error) {
	devs, err := t.Devices()
	if err != nil {
		return nil, err
	}
	var out []Device
	for _, d := range devs {
		if d.Spec == spec {
			out = append(out, d)
		}
	}
	return out, nil
}
