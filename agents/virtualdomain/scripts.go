package virtualdomain

import (
	"context"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/ocf"
)

// maxScriptOutput bounds the script output quoted in an exit reason.
const maxScriptOutput = 512

// runMonitorScripts runs monitor_scripts one after another, each as a
// program without a shell (like heartbeat:VirtualDomain, which splits the
// list on blanks). The first failure fails the monitor.
func (v *vd) runMonitorScripts(ctx context.Context, req *ocf.Request, s settings, domain string) error {
	for _, script := range s.monitorScripts {
		out, code, err := v.run(ctx, []string{script})
		name := agentlog.Clip(script)
		out = clip(strings.TrimSpace(out), maxScriptOutput)
		if err != nil {
			return ocf.Errorf(ocf.ErrGeneric, "monitor command \"%s\" for domain %s could not run: %v", name, domain, err)
		}
		if code != 0 {
			return ocf.Errorf(ocf.ErrGeneric, "monitor command \"%s\" for domain %s returned %d with output: %s", name, domain, code, out)
		}
		req.Log.Debugf("monitor command \"%s\" for domain %s succeeded with output: %s", name, domain, out)
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
