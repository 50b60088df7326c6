package virtualdomain

import (
	"bytes"
	"context"
	"os"
	"path/filepath"

	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// saveConfig writes the domain's definition (with security information,
// as virsh dumpxml --inactive --security-info) back to the config file when
// it differs, then runs csync2 -x on it with sync_config_on_stop. Failures
// are warnings, as in heartbeat:VirtualDomain: the domain's state is what
// the action is about.
func (v *vd) saveConfig(ctx context.Context, req *ocf.Request, s settings, h hypervisor, dom libvirt.Domain) {
	xml, err := h.DomainXML(ctx, dom, true, true)
	if err != nil {
		req.Log.Warnf("cannot read the definition of domain %s: %v; not saving it", dom.Name, err)
		return
	}
	current, _ := os.ReadFile(s.configPath)
	if bytes.Equal(bytes.TrimSpace(current), bytes.TrimSpace([]byte(xml))) {
		return
	}
	cfg, err := parseDomainXML([]byte(xml))
	if err != nil || cfg.Name != dom.Name {
		req.Log.Warnf("the definition libvirt returned for domain %s does not parse as that domain (%v); not saving it", dom.Name, err)
		return
	}
	path, err := filepath.EvalSymlinks(s.configPath)
	if err != nil {
		path = s.configPath
	}
	mode := os.FileMode(0o644)
	if info, err := os.Stat(path); err == nil {
		mode = info.Mode().Perm()
	}
	if err := writeFileAtomic(path, []byte(xml), mode); err != nil {
		req.Log.Warnf("cannot save the definition of domain %s to %s: %v", dom.Name, path, err)
		return
	}
	req.Log.Infof("saved domain %s's configuration to %s", dom.Name, s.configPath)
	if s.syncConfig {
		out, code, err := v.run(ctx, []string{"csync2", "-x", s.configPath})
		if err := commandError("csync2 -x "+s.configPath, out, code, err); err != nil {
			req.Log.Warnf("syncing %s failed: %v", s.configPath, err)
		}
	}
}
