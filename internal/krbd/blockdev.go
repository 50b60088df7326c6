package krbd

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// DevNum is a block device's major:minor.
type DevNum struct{ Major, Minor uint32 }

func (n DevNum) String() string { return fmt.Sprintf("%d:%d", n.Major, n.Minor) }

// ParseDevNum reads "major:minor", the format of /sys/block/X/dev and of
// /proc/self/mountinfo's third field.
func ParseDevNum(s string) (DevNum, error) {
	maj, min, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return DevNum{}, fmt.Errorf("%q is not major:minor", agentlog.Clip(s))
	}
	a, err1 := strconv.ParseUint(maj, 10, 32)
	b, err2 := strconv.ParseUint(min, 10, 32)
	if err1 != nil || err2 != nil {
		return DevNum{}, fmt.Errorf("%q is not major:minor", agentlog.Clip(s))
	}
	return DevNum{uint32(a), uint32(b)}, nil
}

// BlockDevice is a disk in /sys/block: rbdN or nbdN.
type BlockDevice struct {
	Name string // "rbd0"
	Num  DevNum
	// Size in bytes (/sys/block/X/size counts 512-byte sectors whatever
	// the device's block size).
	Size uint64
	// Partitions are the disk's partitions, when it has a partition table.
	Partitions []Partition
}

// Partition is one partition of a disk: /sys/block/X/<X>p1.
type Partition struct {
	Name string
	Num  DevNum
}

// Nums lists the disk's number and its partitions'.
func (b BlockDevice) Nums() []DevNum {
	nums := []DevNum{b.Num}
	for _, p := range b.Partitions {
		nums = append(nums, p.Num)
	}
	return nums
}

// ReadBlockDevice reads /sys/block/<name>.
func (t Tree) ReadBlockDevice(name string) (BlockDevice, error) {
	if name == "" || strings.ContainsAny(name, "/") || name == "." || name == ".." {
		return BlockDevice{}, fmt.Errorf("%q is not a block device name", agentlog.Clip(name))
	}
	dir := join(t.Sys, "block", name)
	b := BlockDevice{Name: name}
	s, err := readAttr(join(dir, "dev"))
	if err != nil {
		return BlockDevice{}, err
	}
	if b.Num, err = ParseDevNum(s); err != nil {
		return BlockDevice{}, fmt.Errorf("/sys/block/%s/dev: %w", name, err)
	}
	sectors, err := readUint(join(dir, "size"), 64)
	if err != nil {
		return BlockDevice{}, err
	}
	if sectors > (1<<64-1)/512 {
		return BlockDevice{}, fmt.Errorf("/sys/block/%s/size: %d sectors is too large", name, sectors)
	}
	b.Size = sectors * 512
	entries, err := listDir(dir)
	if err != nil {
		return BlockDevice{}, err
	}
	for _, e := range entries {
		if !strings.HasPrefix(e, name) || !exists(join(dir, e, "partition")) {
			continue
		}
		s, err := readAttr(join(dir, e, "dev"))
		if err != nil {
			if vanished(err) {
				continue
			}
			return BlockDevice{}, err
		}
		n, err := ParseDevNum(s)
		if err != nil {
			return BlockDevice{}, fmt.Errorf("/sys/block/%s/%s/dev: %w", name, e, err)
		}
		b.Partitions = append(b.Partitions, Partition{Name: e, Num: n})
	}
	return b, nil
}

// Holders lists the devices stacked on the disk or its partitions
// (device-mapper, md, bcache): /sys/block/X/holders and
// /sys/block/X/<partition>/holders.
func (t Tree) Holders(b BlockDevice) ([]string, error) {
	dirs := []string{join(t.Sys, "block", b.Name, "holders")}
	for _, p := range b.Partitions {
		dirs = append(dirs, join(t.Sys, "block", b.Name, p.Name, "holders"))
	}
	var holders []string
	for _, d := range dirs {
		names, err := listDir(d)
		if err != nil {
			return nil, err
		}
		holders = append(holders, names...)
	}
	return holders, nil
}
