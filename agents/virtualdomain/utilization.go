package virtualdomain

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/hostcmd"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// Utilization attributes live in the CIB, which only Pacemaker's tools
// write. Running crm_resource on every monitor (as heartbeat:VirtualDomain
// does, six times) is what makes a monitor slow, so the agent keeps the
// values it last wrote in HA_RSCTMP and runs crm_resource only when a value
// changed: a new vCPU count or memory size, or the first monitor after the
// node booted. A value the agent deletes is recorded as "-".

const deletedMark = "-"

// updateUtilization sets or deletes the utilization attributes the
// autoset_*/unset_* parameters ask for. It only acts when the cluster runs
// the agent (CRM_meta_on_node is set), and failures are logged, never
// fatal, like in heartbeat:VirtualDomain.
func (v *vd) updateUtilization(ctx context.Context, req *ocf.Request, s settings, info libvirt.Info) {
	if req.Instance() == "" || req.Meta("on_node") == "" {
		return
	}
	want := wantedUtilization(s, info)
	if len(want) == 0 {
		return
	}
	path := v.utilizationPath(req)
	written := readUtilization(ctx, path)
	changed := false
	for _, attr := range sortedKeys(want) {
		if written[attr] == want[attr] {
			continue
		}
		if err := v.writeUtilization(ctx, req, attr, want[attr]); err != nil {
			req.Log.Warnf("cannot set utilization attribute %s: %v", attr, err)
			continue
		}
		written[attr] = want[attr]
		changed = true
	}
	if changed {
		if err := writeState(path, []byte(formatUtilization(written))); err != nil {
			req.Log.Debugf("cannot record utilization in %s: %v", path, err)
		}
	}
}

// wantedUtilization maps attribute to value ("-": delete it).
func wantedUtilization(s settings, info libvirt.Info) map[string]string {
	want := map[string]string{}
	memMiB := strconv.FormatUint(info.MaxMemKiB/1024, 10)
	pick := func(attr string, autoset, unset bool, value string) {
		switch {
		case autoset && value != "":
			want[attr] = value
		case !autoset && unset:
			want[attr] = deletedMark
		}
	}
	cpus := ""
	if info.VCPUs > 0 {
		cpus = strconv.Itoa(info.VCPUs)
	}
	if info.MaxMemKiB < 1024 {
		memMiB = ""
	}
	pick("cpu", s.autoset.cpu, s.unset.cpu, cpus)
	pick("host_memory", s.autoset.hostMemory, s.unset.hostMemory, memMiB)
	pick("hv_memory", s.autoset.hvMemory, s.unset.hvMemory, memMiB)
	return want
}

// writeUtilization sets one attribute when the CIB holds another value, or
// deletes it.
func (v *vd) writeUtilization(ctx context.Context, req *ocf.Request, attr, value string) error {
	r := req.Instance()
	if value == deletedMark {
		return v.utilization.Delete(ctx, r, attr)
	}
	if current, err := v.utilization.Get(ctx, r, attr); err == nil && current == value {
		return nil
	}
	if err := v.utilization.Set(ctx, r, attr, value); err != nil {
		return err
	}
	req.Log.Infof("utilization attribute %s set to %s", attr, value)
	return nil
}

// utilizationPath is the file, beside this node's record, that holds the
// values last written.
func (v *vd) utilizationPath(req *ocf.Request) string {
	return strings.TrimSuffix(req.RecordPath(), ".record") + ".utilization"
}

// maxUtilizationFile bounds the read of that file: three short lines.
const maxUtilizationFile = 4 << 10

// readUtilization parses "attr=value" lines; a missing (or unreadable) file
// is empty, which only costs crm_resource calls.
func readUtilization(ctx context.Context, path string) map[string]string {
	m := map[string]string{}
	rctx, cancel := context.WithTimeout(ctx, fileWait(ctx))
	defer cancel()
	data, err := files.Read(rctx, path, maxUtilizationFile)
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, val, ok := strings.Cut(line, "="); ok && k != "" {
			m[k] = val
		}
	}
	return m
}

func formatUtilization(m map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		b.WriteString(k + "=" + m[k] + "\n")
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// writeState writes one of the agent's files in HA_RSCTMP, creating the
// folder (a tmpfs that may be fresh after a boot).
func writeState(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return files.WriteAtomic(path, data, 0o644)
}

// pacemakerUtilization is the CIB, through crm_resource.
type pacemakerUtilization struct{}

func (pacemakerUtilization) Get(ctx context.Context, resource, name string) (string, error) {
	return hostcmd.Utilization(ctx, resource, name)
}

func (pacemakerUtilization) Set(ctx context.Context, resource, name, value string) error {
	return hostcmd.SetUtilization(ctx, resource, name, value)
}

func (pacemakerUtilization) Delete(ctx context.Context, resource, name string) error {
	return hostcmd.DeleteUtilization(ctx, resource, name)
}
