// Command statefile is the lab's own OCF agent, ocf:kvmha-lab:statefile: a resource that is
// "running" while its state file exists. It is no product; it exists so the lab can prove
// the internal/ocf runtime end to end, under ocf-tester and under a real Pacemaker cluster,
// before any product agent stands on it.
package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/kvmha/kvmha/internal/ocf"
)

var agent = ocf.Agent{
	Name:      "statefile",
	Version:   "1.0",
	ShortDesc: "Lab resource that runs while its state file exists",
	LongDesc: "A test resource for the kvmha lab: start creates the state file, stop removes it, " +
		"monitor reports running while it exists. Setting fail_monitor makes monitor fail.",
	Params: []ocf.Param{
		{Name: "state", Type: ocf.TypeString, Unique: true, Default: "/run/kvmha-lab-statefile.state",
			ShortDesc: "State file", LongDesc: "Path of the file whose existence means running."},
		{Name: "fail_monitor", Type: ocf.TypeBoolean, Default: "false",
			ShortDesc: "Make monitor fail", LongDesc: "When true, monitor of a running resource returns OCF_ERR_GENERIC."},
		{Name: "delay", Type: ocf.TypeInteger, Default: "0",
			ShortDesc: "Seconds each action sleeps", LongDesc: "Lets tests watch the runtime's deadline at work."},
	},
	Timeouts: map[string]time.Duration{ocf.ActionStart: 20 * time.Second, ocf.ActionStop: 20 * time.Second},
	Start:    start,
	Stop:     stop,
	Monitor:  monitor,
}

func main() { ocf.Run(&agent) }

func pause(ctx context.Context, req *ocf.Request) error {
	select {
	case <-time.After(time.Duration(req.Int("delay")) * time.Second):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func start(ctx context.Context, req *ocf.Request) error {
	if err := pause(ctx, req); err != nil {
		return err
	}
	path := req.String("state")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return ocf.Errorf(ocf.ErrPerm, "cannot create %s: %v", filepath.Dir(path), err)
	}
	return os.WriteFile(path, []byte(req.Instance()+"\n"), 0o644)
}

func stop(ctx context.Context, req *ocf.Request) error {
	if err := pause(ctx, req); err != nil {
		return err
	}
	if err := os.Remove(req.String("state")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func monitor(ctx context.Context, req *ocf.Request) error {
	if err := pause(ctx, req); err != nil {
		return err
	}
	if _, err := os.Stat(req.String("state")); errors.Is(err, os.ErrNotExist) {
		return ocf.Exit(ocf.NotRunning)
	} else if err != nil {
		return err
	}
	if req.Bool("fail_monitor") {
		return ocf.Errorf(ocf.ErrGeneric, "fail_monitor is set")
	}
	return nil
}
