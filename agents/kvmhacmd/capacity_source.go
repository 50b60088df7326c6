package kvmhacmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/capacity"
)

// readCIBFile reads a saved CIB ("-": stdin); placement comes from its status
// section.
func readCIBFile(path string, stdin io.Reader) (*capacity.Cluster, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, capacity.MaxCIBSize+1))
	} else {
		data, err = readLimited(path)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the CIB: %v", err)
	}
	c, err := capacity.ParseCIB(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return c, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, capacity.MaxCIBSize+1))
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
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
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

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}
