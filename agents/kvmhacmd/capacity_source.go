package kvmhacmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/capacity"
	"github.com/kvmha/kvmha/internal/files"
)

// readCIBFile reads a saved CIB ("-": stdin) within ctx; placement comes from its status
// section. The file must be a regular one (a FIFO or a device is refused at once) of at
// most capacity.MaxCIBSize bytes; stdin must be closed by its writer before ctx ends.
func readCIBFile(ctx context.Context, path string, stdin io.Reader) (*capacity.Cluster, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = files.ReadStream(ctx, stdin, "stdin", capacity.MaxCIBSize)
	} else {
		data, err = files.Read(ctx, path, capacity.MaxCIBSize)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the CIB: %v", err)
	}
	c, err := capacity.ParseCIB(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", agentlog.Clip(path), err)
	}
	return c, nil
}

// readLiveCluster reads the configuration with cibadmin and the node states
// and placement with crm_mon: the scheduler's own view, which a reading of
// the operation history can only approximate (migrations under way, unclean
// nodes, failed stops). Two forks for an admin command are cheap enough.
func readLiveCluster(ctx context.Context, timeout time.Duration) (*capacity.Cluster, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cib, err := runTool(ctx, "cibadmin", "--query")
	if err != nil {
		return nil, fmt.Errorf("cannot read the cluster's CIB (give --cib FILE to read a saved one): %v", err)
	}
	c, err := capacity.ParseCIB(cib)
	if err != nil {
		return nil, fmt.Errorf("cibadmin --query: %v", err)
	}
	mon, err := runTool(ctx, "crm_mon", "--one-shot", "--output-as=xml")
	if err != nil {
		return nil, fmt.Errorf("cannot read the cluster's status: %v", err)
	}
	if err := capacity.ApplyCrmMon(c, mon); err != nil {
		return nil, fmt.Errorf("crm_mon: %v", err)
	}
	return c, nil
}

// runTool runs a Pacemaker tool and returns its stdout; a failure carries
// the tool's own first line of stderr.
func runTool(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 2 * time.Second
	stdout, stderr := &capped{limit: capacity.MaxCIBSize}, &capped{limit: 64 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		if stdout.over {
			return nil, fmt.Errorf("%s %s: more than %d bytes of output", name, strings.Join(args, " "), stdout.limit)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: no answer in time", name, strings.Join(args, " "))
		}
		msg := firstLine(stderr.String())
		var exit *exec.ExitError
		if errors.As(err, &exit) && msg != "" {
			return nil, fmt.Errorf("%s %s: %s (exit %d)", name, strings.Join(args, " "), msg, exit.ExitCode())
		}
		return nil, fmt.Errorf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return stdout.Bytes(), nil
}

// capped keeps a tool's output up to limit bytes; a write beyond fails, which ends the
// copy and so the tool (its pipe closes).
type capped struct {
	bytes.Buffer
	limit int
	over  bool
}

func (c *capped) Write(p []byte) (int, error) {
	if c.Len()+len(p) > c.limit {
		c.over = true
		return 0, fmt.Errorf("more than %d bytes", c.limit)
	}
	return c.Buffer.Write(p)
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}
