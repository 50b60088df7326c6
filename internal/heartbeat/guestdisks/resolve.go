package guestdisks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/deadline"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/heartbeat"
)

// Resolver completes disks with what this host knows of them.
type Resolver struct {
	// Sys and Dev are where sysfs and the device nodes are: /sys and /dev
	// when empty (tests give others).
	Sys, Dev string
	// Timeout bounds each file system call (2 s when zero): a path on a
	// hung NFS or OCFS2 mount blocks in the kernel, where no context
	// reaches, and is abandoned.
	Timeout time.Duration
	// Pool returns the XML of a libvirt storage pool; nil leaves volume
	// disks unresolved.
	Pool func(ctx context.Context, name string) (string, error)
}

func (r *Resolver) sys() string { return orDefault(r.Sys, "/sys") }
func (r *Resolver) dev() string { return orDefault(r.Dev, "/dev") }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (r *Resolver) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return 2 * time.Second
}

// ResolveAll resolves every disk (see Resolve), reading each pool and the
// /dev/disk/by-id folder once. err joins what could not be found out: the
// disks come back all the same, with what was found.
func (r *Resolver) ResolveAll(ctx context.Context, disks []heartbeat.Disk) ([]heartbeat.Disk, error) {
	p := &pass{r: r, pools: map[string]*Pool{}}
	out := make([]heartbeat.Disk, len(disks))
	var errs []error
	for i, d := range disks {
		var err error
		out[i], err = p.resolve(ctx, d)
		if err != nil {
			errs = append(errs, fmt.Errorf("disk %s: %w", d.Describe(), err))
		}
	}
	return out, errors.Join(errs...)
}

// Resolve completes one disk: a pool volume becomes the file, device or
// image it is (Volume keeps its name); a file or device path gets its links
// followed (Real); a file that is a device node (under /dev) is a block
// device; a block device gets its stable ids (IDs).
func (r *Resolver) Resolve(ctx context.Context, d heartbeat.Disk) (heartbeat.Disk, error) {
	return (&pass{r: r, pools: map[string]*Pool{}}).resolve(ctx, d)
}

// pass is one resolution of a guest's disks: pools and /dev/disk/by-id are
// read once.
type pass struct {
	r     *Resolver
	pools map[string]*Pool // nil entry: not resolvable
	byID  map[string]string
	byErr error
	read  bool
}

func (p *pass) resolve(ctx context.Context, d heartbeat.Disk) (heartbeat.Disk, error) {
	if d.Kind == heartbeat.DiskVolume {
		if p.r.Pool == nil {
			return d, nil
		}
		name, _, _ := strings.Cut(d.Source, "/")
		pool, seen := p.pools[name]
		if !seen {
			xml, err := p.r.Pool(ctx, name)
			if err != nil {
				return d, fmt.Errorf("storage pool %s: %w", name, err)
			}
			pl, err := ParsePool([]byte(xml))
			if err != nil {
				return d, fmt.Errorf("storage pool %s: %w", name, err)
			}
			pool = &pl
			p.pools[name] = pool
		}
		v, ok := pool.Volume(d)
		if !ok {
			return d, nil // a pool whose volumes are not paths: its name is all there is
		}
		d = v
	}
	if d.Kind != heartbeat.DiskFile && d.Kind != heartbeat.DiskBlock {
		return d, nil
	}
	real, err := within(ctx, p.r.timeout(), func() (string, error) { return filepath.EvalSymlinks(d.Source) })
	if err != nil {
		return d, err
	}
	if real != d.Source {
		d.Real = real
	}
	if d.Kind == heartbeat.DiskFile && strings.HasPrefix(real, p.r.dev()+"/") {
		d.Kind = heartbeat.DiskBlock // a device node given as a file
	}
	if d.Kind == heartbeat.DiskBlock {
		d.IDs, err = p.blockIDs(ctx, real)
	}
	return d, err
}

// blockIDs finds the stable ids of the device node real (/dev/sdb,
// /dev/dm-3, /dev/nvme0n1p2): what its sysfs says (a SCSI or NVMe WWID, a
// serial when there is no WWID, a device-mapper UUID: multipath's carries
// the WWID, LVM's the volume group's and volume's UUIDs), then the names
// /dev/disk/by-id gives it (udev's, the same on every host with the same
// rules; not dm-name-*, which are host-local aliases). A partition's sysfs
// ids end in "#p" and its number.
func (p *pass) blockIDs(ctx context.Context, real string) ([]string, error) {
	var ids []string
	add := func(id string) {
		if id != "" && len(id) <= 256 && !slices.Contains(ids, id) && len(ids) < heartbeat.MaxDiskIDs {
			ids = append(ids, id)
		}
	}
	name := filepath.Base(real)
	class := filepath.Join(p.r.sys(), "class", "block", name)
	dev, suffix := name, ""
	if part := p.attr(ctx, filepath.Join(class, "partition")); part != "" {
		if path, err := within(ctx, p.r.timeout(), func() (string, error) { return filepath.EvalSymlinks(class) }); err == nil {
			dev, suffix = filepath.Base(filepath.Dir(path)), "#p"+part
		}
	}
	block := filepath.Join(p.r.sys(), "block", dev)
	var sysIDs []string
	for _, f := range []string{"device/wwid", "wwid"} {
		if v := p.attr(ctx, filepath.Join(block, f)); v != "" {
			sysIDs = append(sysIDs, normWWID(v))
		}
	}
	if len(sysIDs) == 0 {
		// A serial only when there is no WWID: an NVMe controller's serial
		// is every one of its namespaces'.
		for _, f := range []string{"device/serial", "serial"} {
			if v := p.attr(ctx, filepath.Join(block, f)); v != "" {
				sysIDs = append(sysIDs, "serial:"+collapse(v))
			}
		}
	}
	if v := p.attr(ctx, filepath.Join(block, "dm", "uuid")); v != "" {
		id, part := normDMUUID(v)
		if part != "" && suffix == "" {
			suffix = "#p" + part
		}
		sysIDs = append(sysIDs, id)
	}
	for _, id := range sysIDs {
		add(id + suffix)
	}
	byID, err := p.byIDNames(ctx)
	var names []string
	for entry, target := range byID {
		if target == real {
			names = append(names, entry)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		add("by-id:" + n)
	}
	return ids, err
}

// byIDNames maps the entries of /dev/disk/by-id to the device nodes they
// name, once per pass.
func (p *pass) byIDNames(ctx context.Context) (map[string]string, error) {
	if p.read {
		return p.byID, p.byErr
	}
	p.read = true
	dir := filepath.Join(p.r.dev(), "disk", "by-id")
	p.byID, p.byErr = within(ctx, p.r.timeout(), func() (map[string]string, error) {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		out := map[string]string{}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "dm-name-") {
				continue
			}
			if t, err := filepath.EvalSymlinks(filepath.Join(dir, e.Name())); err == nil {
				out[e.Name()] = t
			}
		}
		return out, nil
	})
	return p.byID, p.byErr
}

// attr reads a sysfs attribute, "" when it is absent or unreadable.
func (p *pass) attr(ctx context.Context, path string) string {
	ctx, cancel := context.WithTimeout(ctx, p.r.timeout())
	defer cancel()
	data, err := files.Read(ctx, path, 4096)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

var spaces = regexp.MustCompile(`\s+`)

func collapse(s string) string { return spaces.ReplaceAllString(strings.TrimSpace(s), " ") }

// normWWID writes a sysfs WWID as an id: NAA and EUI-64 designators as
// lowercase hex ("wwn:600a0b80…", "eui:0025…"), as multipath's UUIDs give
// them too; others ("t10.…", NVMe's "nvme.…", "uuid.…") as they are.
func normWWID(v string) string {
	v = collapse(v)
	switch lower := strings.ToLower(v); {
	case strings.HasPrefix(lower, "naa."):
		return "wwn:" + lower[4:]
	case strings.HasPrefix(lower, "eui."):
		return "eui:" + lower[4:]
	}
	return "wwid:" + v
}

var dmPartRE = regexp.MustCompile(`^part([0-9]+)-(.+)$`)

// normDMUUID writes a device-mapper UUID as an id, and the partition number
// of a kpartx partition ("part1-mpath-3600…"). Multipath's UUID is
// "mpath-" and udev's serial of the LUN: NAA ("3…") and EUI-64 ("2…") ones
// become the ids their paths' WWIDs give.
func normDMUUID(v string) (id, part string) {
	v = strings.TrimSpace(v)
	if m := dmPartRE.FindStringSubmatch(v); m != nil {
		part, v = m[1], m[2]
	}
	if serial, ok := strings.CutPrefix(v, "mpath-"); ok && len(serial) > 1 {
		switch serial[0] {
		case '3':
			return "wwn:" + strings.ToLower(serial[1:]), part
		case '2':
			return "eui:" + strings.ToLower(serial[1:]), part
		}
	}
	return "dm:" + v, part
}

// within runs fn, giving up when timeout passes or ctx ends: fn then goes on
// in its goroutine, blocked in the kernel, and its result is dropped.
func within[T any](ctx context.Context, timeout time.Duration, fn func() (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, done, err := deadline.Call(ctx, fn)
	if !done {
		return v, fmt.Errorf("no answer from the file system in time: %w", err)
	}
	return v, err
}
