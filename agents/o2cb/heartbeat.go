package o2cb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/o2cbconf"
	"github.com/kvmha/kvmha/internal/ocf"
	"github.com/kvmha/kvmha/internal/ocfs2disk"
	"golang.org/x/sys/unix"
)

// region is a global heartbeat region: where the heartbeat file of a volume
// lies, in the units the kernel's configfs region wants - sectors of the
// device (block_bytes is the sector size) for start_block, file system
// blocks for the count - as ocfs2-tools compute them.
type region struct {
	UUID       string
	Device     string
	BlockBytes int
	StartBlock uint64
	Blocks     uint64
}

// resolveRegions finds and reads every global heartbeat volume (nothing in
// local mode). The volume must carry this cluster's name and o2cb stack and
// have been made for global heartbeat, else the kernel would heartbeat on a
// volume other nodes do not watch.
func (a *agent) resolveRegions(ctx context.Context, l *layout) ([]region, error) {
	param := l.DevicesParam
	if l.HeartbeatMode != o2cbconf.HeartbeatGlobal {
		return nil, nil
	}
	var regions []region
	for _, d := range l.Devices {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dev := d
		if !filepath.IsAbs(d) {
			found, err := a.findVolume(strings.ToUpper(d))
			if err != nil {
				return nil, err
			}
			dev = found
		}
		r, v, err := a.readRegion(dev, param)
		if err != nil {
			return nil, err
		}
		switch {
		case v.ClusterStack != "o2cb" || v.ClusterName != l.Name:
			return nil, ocf.ParamErrorf(param, "heartbeat volume belongs to cluster %q (stack %q), not to O2CB cluster %s: %s",
				agentlog.Clip(v.ClusterName), agentlog.Clip(v.ClusterStack), l.Name, agentlog.Clip(dev))
		case !v.GlobalHeartbeat:
			return nil, ocf.ParamErrorf(param, "heartbeat volume was not made for global heartbeat (mkfs.ocfs2 --global-heartbeat): %s", agentlog.Clip(dev))
		case !filepath.IsAbs(d) && !strings.EqualFold(d, r.UUID):
			return nil, fmt.Errorf("volume %s has UUID %s, not %s", dev, r.UUID, d)
		}
		regions = append(regions, r)
	}
	return regions, nil
}

// readRegion reads a volume's superblock and heartbeat location; param names where the
// device came from, for messages.
func (s *deps) readRegion(dev, param string) (region, *ocfs2disk.Volume, error) {
	f, err := s.openDevice(dev, false)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return region{}, nil, ocf.Errorf(ocf.ErrInstalled, "%s: heartbeat device %s does not exist on this node", param, agentlog.Clip(dev))
		}
		if errors.Is(err, errNotBlockDevice) {
			return region{}, nil, ocf.ParamErrorf(param, "heartbeat device is not a block device: %s", agentlog.Clip(dev))
		}
		return region{}, nil, fmt.Errorf("%s: cannot open heartbeat device %s: %w", param, agentlog.Clip(dev), files.Cause(err))
	}
	defer f.Close()
	v, err := ocfs2disk.Read(f)
	if err != nil {
		return region{}, nil, ocf.ParamErrorf(param, "%v: %s", err, agentlog.Clip(dev))
	}
	sector, err := s.sectorSize(f)
	if err != nil {
		return region{}, nil, fmt.Errorf("cannot get the sector size of %s: %w", dev, err)
	}
	if sector < 512 || sector > v.BlockSize || sector&(sector-1) != 0 {
		return region{}, nil, ocf.ParamErrorf(param, "heartbeat device has %d-byte sectors, which its %d-byte blocks cannot hold: %s", sector, v.BlockSize, agentlog.Clip(dev))
	}
	return region{
		UUID:       v.UUID,
		Device:     dev,
		BlockBytes: sector,
		StartBlock: v.HeartbeatBlock * uint64(v.BlockSize) / uint64(sector),
		Blocks:     min(v.HeartbeatBlocks, o2cbconf.MaxNodes),
	}, v, nil
}

// findVolume looks a volume up by UUID: udev's by-uuid link when there is
// one (the UUID with dashes, lower case), else every block device.
func (s *deps) findVolume(uuid string) (string, error) {
	if len(uuid) == 32 {
		dashed := strings.ToLower(uuid[:8] + "-" + uuid[8:12] + "-" + uuid[12:16] + "-" + uuid[16:20] + "-" + uuid[20:])
		link := filepath.Join(s.devicesDir, "disk/by-uuid", dashed)
		if _, err := os.Stat(link); err == nil {
			return link, nil
		}
	}
	entries, err := os.ReadDir(s.blockDir)
	if err != nil {
		return "", fmt.Errorf("cannot list block devices in %s: %w", s.blockDir, err)
	}
	for _, e := range entries {
		dev := filepath.Join(s.devicesDir, e.Name())
		f, err := s.openDevice(dev, false)
		if err != nil {
			continue
		}
		v, err := ocfs2disk.Read(f)
		f.Close()
		if err == nil && v.UUID == uuid {
			return dev, nil
		}
	}
	return "", ocf.Errorf(ocf.ErrInstalled, "no block device on this node holds heartbeat volume %s", uuid)
}

// startRegions starts each region that is not running: mkdir, geometry,
// then the device handed over as an open file descriptor, which is what
// starts the kernel's heartbeat thread (the write returns once the region
// is steady, a few heartbeat iterations later).
func (a *agent) startRegions(ctx context.Context, cluster string, regions []region, st *state, log *ocf.Logger) error {
	c := a.configfs
	for _, r := range regions {
		if err := ctx.Err(); err != nil {
			return err
		}
		dir := regionDir(cluster, r.UUID)
		if pid, err := c.Read(path.Join(dir, "pid")); err == nil && pid != "" {
			continue // running
		} else if err == nil {
			// a region left without its device by an interrupted start
			if err := c.Rmdir(dir); err != nil {
				return fmt.Errorf("cannot remove the idle heartbeat region %s: %w", r.UUID, err)
			}
		}
		log.Infof("starting global heartbeat region %s on %s", r.UUID, r.Device)
		if err := a.startRegion(dir, r); err != nil {
			return err
		}
		if st.Regions == nil {
			st.Regions = map[string]string{}
		}
		st.Regions[r.UUID] = r.Device
		if err := a.saveState(cluster, *st); err != nil {
			return fmt.Errorf("cannot record heartbeat region %s: %w", r.UUID, err)
		}
	}
	return nil
}

func (a *agent) startRegion(dir string, r region) error {
	c := a.configfs
	if err := c.Mkdir(dir); err != nil {
		return fmt.Errorf("cannot create heartbeat region %s: %w", r.UUID, err)
	}
	fail := func(err error) error {
		_ = c.Rmdir(dir)
		return fmt.Errorf("cannot start heartbeat region %s on %s: %w", r.UUID, r.Device, err)
	}
	for _, at := range []struct{ attr, value string }{
		{"block_bytes", strconv.Itoa(r.BlockBytes)},
		{"start_block", strconv.FormatUint(r.StartBlock, 10)},
		{"blocks", strconv.FormatUint(r.Blocks, 10)},
	} {
		if err := c.Write(path.Join(dir, at.attr), at.value); err != nil {
			return fail(fmt.Errorf("%s: %w", at.attr, err))
		}
	}
	f, err := a.openDevice(r.Device, true)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	if err := c.Write(path.Join(dir, "dev"), strconv.Itoa(int(f.Fd()))); err != nil {
		return fail(fmt.Errorf("dev: %w", err))
	}
	return nil
}

// regionProblems reports configured global regions that are not beating.
// Regions given by device path are known by the UUID start recorded.
func (a *agent) regionProblems(cluster string, l *layout) []string {
	st, _ := a.loadState(cluster)
	var problems []string
	for _, d := range l.Devices {
		uuid := strings.ToUpper(d)
		if filepath.IsAbs(d) {
			uuid = ""
			for u, dev := range st.Regions {
				if dev == d {
					uuid = u
				}
			}
			if uuid == "" {
				problems = append(problems, fmt.Sprintf("heartbeat device %s has no region (not started by this agent)", d))
				continue
			}
		}
		pid, err := a.configfs.Read(path.Join(regionDir(cluster, uuid), "pid"))
		if err != nil || pid == "" {
			problems = append(problems, fmt.Sprintf("global heartbeat region %s (%s) is not active", uuid, d))
		}
	}
	return problems
}

// sectorSize asks the block device for its logical sector size.
func sectorSize(f *os.File) (int, error) {
	return unix.IoctlGetInt(int(f.Fd()), unix.BLKSSZGET)
}

// writeClusterConf puts the layout into cluster.conf for ocfs2-tools,
// keeping other clusters, and only when it changed.
func writeClusterConf(ctx context.Context, file string, l *layout, regions []region, log *ocf.Logger) error {
	want := l.Cluster
	want.Regions = nil
	for _, r := range regions {
		want.Regions = append(want.Regions, r.UUID)
	}
	f := &o2cbconf.File{}
	data, err := readConfigFile(ctx, pClusterConf, file)
	switch {
	case err == nil:
		if f, err = o2cbconf.Parse(data); err != nil {
			return ocf.ParamErrorf(pClusterConf, "will not rewrite a file that does not parse: %v (%s)", err, agentlog.Clip(file))
		}
		if cur, err := f.Cluster(l.Name); err == nil && cur.Equal(&want) {
			return nil
		}
	case ocf.CodeOf(err) != ocf.ErrInstalled || fileExists(file):
		// Only a missing file is written afresh; an unreadable one is not overwritten.
		return err
	}
	if err := f.SetCluster(&want); err != nil {
		return ocf.ParamErrorf(pClusterConf, "cannot describe cluster %s in %s: %v", l.Name, agentlog.Clip(file), err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("%s: cannot create %s: %w", pClusterConf, agentlog.Clip(filepath.Dir(file)), files.Cause(err))
	}
	if err := files.WriteAtomic(file, f.Bytes(), 0o644); err != nil {
		return fmt.Errorf("%s: cannot write %s: %w", pClusterConf, agentlog.Clip(file), files.Cause(err))
	}
	log.Infof("wrote cluster %s (%d nodes) to %s", l.Name, len(want.Nodes), file)
	return nil
}

// fileExists reports whether path exists (anything that is not "does not exist" counts).
func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}
