package virtualdomain

import (
	"bytes"
	"context"
	"os"

	"github.com/kvmha/kvmha/internal/deadline"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// saveConfig writes the domain's definition (with security information,
// as virsh dumpxml --inactive --security-info) back to the config file df
// was read from when it differs, then runs csync2 -x on it with
// sync_config_on_stop. Failures are warnings, as in heartbeat:VirtualDomain:
// the domain's state is what the action is about.
func (v *vd) saveConfig(ctx context.Context, req *ocf.Request, s settings, h hypervisor, dom libvirt.Domain, df *domainFile) {
	xml, err := h.DomainXML(ctx, dom, true, true)
	if err != nil {
		req.Log.Warnf("cannot read the definition of domain %s: %v; not saving it", dom.Name, err)
		return
	}
	// df.raw is what the file held when this action read it.
	if bytes.Equal(bytes.TrimSpace(df.raw), bytes.TrimSpace([]byte(xml))) {
		return
	}
	cfg, err := parseDomainXML([]byte(xml))
	if err != nil || cfg.Name != dom.Name {
		req.Log.Warnf("the definition libvirt returned for domain %s does not parse as that domain (%v); not saving it", dom.Name, err)
		return
	}
	if err := writeWithin(ctx, df.path, []byte(xml)); err != nil {
		req.Log.Warnf("cannot save the definition of domain %s to %s: %v", dom.Name, df.path, err)
		return
	}
	req.Log.Infof("saved domain %s's configuration to %s", dom.Name, df.path)
	if s.syncConfig {
		out, code, err := v.run(ctx, []string{"csync2", "-x", df.path})
		if err := commandError("csync2 -x "+df.path, out, code, err); err != nil {
			req.Log.Warnf("syncing %s failed: %v", df.path, err)
		}
	}
}

// writeWithin replaces the operator's file durably (files.WriteAtomic, in
// the folder of the symlink's target so the link survives), keeping its
// mode. The config file often lives on shared storage: a write that hangs
// there is abandoned when ctx ends, so that a stop still gets to destroy
// the domain in time.
func writeWithin(ctx context.Context, path string, data []byte) error {
	done, err := deadline.Run(ctx, func() error {
		real := resolveLink(path)
		mode := os.FileMode(0o644)
		if info, err := os.Stat(real); err == nil {
			mode = info.Mode().Perm()
		}
		return files.WriteAtomic(real, data, mode)
	})
	if !done {
		return files.ErrTimedOut
	}
	return err
}
