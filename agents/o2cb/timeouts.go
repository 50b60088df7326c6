package o2cb

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"syscall"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// clusterAttrs are the cluster-wide attributes start sets and monitor checks.
type clusterAttrs struct {
	timeouts
	fenceMethod   string
	heartbeatMode string
}

// attrFiles maps each attribute to its configfs file and wanted value.
func (w clusterAttrs) files(cluster string) []struct{ file, value string } {
	return []struct{ file, value string }{
		{clusterAttr(cluster, "idle_timeout_ms"), strconv.Itoa(w.idleMs)},
		{clusterAttr(cluster, "keepalive_delay_ms"), strconv.Itoa(w.keepaliveMs)},
		{clusterAttr(cluster, "reconnect_delay_ms"), strconv.Itoa(w.reconnectMs)},
		{clusterAttr(cluster, "fence_method"), w.fenceMethod},
		{path.Join(heartbeatDir(cluster), "dead_threshold"), strconv.Itoa(w.deadThreshold)},
		{path.Join(heartbeatDir(cluster), "mode"), w.heartbeatMode},
	}
}

// applyClusterAttrs sets what differs, and only that: a repeated start must
// not poke attributes the kernel freezes while the cluster is in use. The
// kernel checks idle > keepalive on every write, so the order depends on
// where the values move: when the new idle timeout is not above the current
// keepalive delay, the keepalive delay must come down first. It refuses
// o2net changes while peers are connected (EINVAL) and ignores a new dead
// threshold while heartbeat regions run; either failure says why.
func applyClusterAttrs(c configFS, cluster string, w clusterAttrs) error {
	curKeepalive, err := readInt(c, clusterAttr(cluster, "keepalive_delay_ms"))
	if err != nil {
		return err
	}
	files := w.files(cluster)
	if w.idleMs <= curKeepalive {
		files[0], files[1] = files[1], files[0]
	}
	for _, f := range files {
		cur, err := c.Read(f.file)
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", f.file, err)
		}
		if cur == f.value {
			continue
		}
		name := path.Base(f.file)
		err = c.Write(f.file, f.value)
		var errno syscall.Errno
		if errors.As(err, &errno) && errno == syscall.EINVAL && strings.HasSuffix(name, "_ms") {
			return fmt.Errorf("cannot change %s from %s to %s while O2CB peers are connected; unmount the OCFS2 volumes first", name, cur, f.value)
		}
		if err != nil {
			return fmt.Errorf("cannot set %s to %s (it is %s): %w", f.file, f.value, cur, err)
		}
		// dead_threshold (and mode, on some kernels) is "accepted" and ignored
		if got, err := c.Read(f.file); err == nil && got != f.value {
			return fmt.Errorf("heartbeat %s stays %s, not %s, while heartbeat regions are active; unmount the OCFS2 volumes first", name, got, f.value)
		}
	}
	return nil
}

// attrDifferences lists the attributes whose kernel value is not the wanted
// one, for monitor.
func attrDifferences(c configFS, cluster string, w clusterAttrs) []string {
	var diffs []string
	for _, f := range w.files(cluster) {
		got, err := c.Read(f.file)
		switch {
		case err != nil:
			diffs = append(diffs, fmt.Sprintf("cannot read %s: %v", f.file, err))
		case got != f.value:
			diffs = append(diffs, fmt.Sprintf("%s is %s, configured %s", path.Base(f.file), agentlog.Clip(got), f.value))
		}
	}
	return diffs
}

func readInt(c configFS, file string) (int, error) {
	v, err := c.Read(file)
	if err != nil {
		return 0, fmt.Errorf("cannot read %s: %w", file, err)
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s holds %q, not a number", file, agentlog.Clip(v))
	}
	return i, nil
}
