package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// SelfFencer fences this host: cmd is the fence message's off or reboot.
// A sysrq fence does not return; an exec fence returns when its command
// ended, and the daemon then stops feeding its watchdog for good.
type SelfFencer func(ctx context.Context, cmd string) error

type selfFenceMode struct {
	mode string // message, reboot, off or exec
	path string // exec only
}

func parseSelfFence(s string) (selfFenceMode, error) {
	switch s {
	case SelfFenceMessage, SelfFenceReboot, SelfFenceOff:
		return selfFenceMode{mode: s}, nil
	}
	if p, ok := strings.CutPrefix(s, selfFenceExec); ok {
		if !filepath.IsAbs(p) || strings.ContainsAny(p, " \t\n") {
			return selfFenceMode{}, fmt.Errorf("self_fence %q: exec: needs an absolute path without blanks", agentlog.Clip(s))
		}
		return selfFenceMode{mode: "exec", path: p}, nil
	}
	return selfFenceMode{}, fmt.Errorf("self_fence %q: message, reboot, off or exec:/path", agentlog.Clip(s))
}

// SysrqTrigger is the kernel's magic SysRq trigger; writing to it as root
// works whatever kernel.sysrq allows.
const SysrqTrigger = "/proc/sysrq-trigger"

// NewSelfFencer returns the fencer for a self_fence mode. log receives the
// output of an exec command.
func NewSelfFencer(mode, node string, log io.Writer) (SelfFencer, error) {
	m, err := parseSelfFence(mode)
	if err != nil {
		return nil, err
	}
	if m.mode == "exec" {
		return func(ctx context.Context, cmd string) error {
			c := exec.CommandContext(ctx, m.path, node, cmd)
			c.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
			c.Stdout, c.Stderr = log, log
			return c.Run()
		}, nil
	}
	return func(_ context.Context, cmd string) error {
		key := "b" // reboot at once: no sync, which could hang on the storage that failed
		if m.mode == SelfFenceOff || (m.mode == SelfFenceMessage && cmd == CmdOff) {
			key = "o"
		}
		return writeSysrq(key)
	}, nil
}

func writeSysrq(key string) error {
	f, err := os.OpenFile(SysrqTrigger, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(key)
	return errors.Join(err, f.Close())
}
