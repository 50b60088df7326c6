// Command fence_lab is the fence agent of the kvmha lab. The lab's nodes are
// namespaces on one host; their "power switch" is a host process (see
// test/lab/nodes.sh) that the agent talks to through files in a directory
// visible from every node:
//
//	<switch_dir>/req/<id>.req  request written by the agent, atomically
//	                           (temp file ".<id>.tmp" in req/, then rename);
//	                           one line "<action> <target>\n", action is
//	                           off, on or reboot; id is "<pid>-<unix nanos>"
//	<switch_dir>/done/<id>     written by the switch when it has acted: its
//	                           exit code as text ("0" = success); the agent
//	                           polls for it until its deadline, then removes it
//	<switch_dir>/power/<node>  "on" or "off", kept current by the switch;
//	                           the file names are the list of plugs
//	<switch_dir>/alive         touched by the switch every 0.2 s; monitor
//	                           fails when it is older than 5 s
//
// If no answer comes before the deadline the agent deletes its request (if
// still there) and fails. The switch must only pick up files ending in ".req"
// and removes a request once handled; list ignores names containing ".tmp".
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/fence"
)

const (
	defaultSwitchDir = "/var/lib/kvmha-lab/switch"
	optSwitchDir     = "switch_dir"
	aliveMaxAge      = 5 * time.Second
	pollInterval     = 50 * time.Millisecond
)

func main() {
	fence.Run(newAgent())
}

func newAgent() *fence.Agent {
	return &fence.Agent{
		Name:      "fence_lab",
		ShortDesc: "Fence agent for the kvmha lab power switch",
		LongDesc: "fence_lab powers the namespace nodes of the kvmha test lab off and on " +
			"by handing requests to the lab's power switch through files in switch_dir.",
		VendorURL:       "https://github.com/kvmha/kvmha",
		Version:         "lab",
		PlugDescription: "Name of the lab node to fence (e.g. node2)",
		Options: []fence.Option{{
			Name:        optSwitchDir,
			Type:        fence.String,
			Default:     defaultSwitchDir,
			Placeholder: "dir",
			Description: "State directory shared with the lab power switch",
		}},
		Status:   func(_ context.Context, r *fence.Request) (fence.Power, error) { return sw(r).status(r.Plug) },
		On:       func(ctx context.Context, r *fence.Request) error { return sw(r).request(ctx, r, "on") },
		Off:      func(ctx context.Context, r *fence.Request) error { return sw(r).request(ctx, r, "off") },
		Reboot:   func(ctx context.Context, r *fence.Request) error { return sw(r).request(ctx, r, "reboot") },
		List:     func(_ context.Context, r *fence.Request) ([]fence.Plug, error) { return sw(r).list(r.Action) },
		Monitor:  func(_ context.Context, r *fence.Request) error { return sw(r).alive(time.Now()) },
		Validate: validate,
	}
}

// labSwitch is the switch's state directory.
type labSwitch string

func sw(r *fence.Request) labSwitch { return labSwitch(r.Values.Get(optSwitchDir)) }

func (s labSwitch) path(parts ...string) string {
	return filepath.Join(append([]string{string(s)}, parts...)...)
}

var nodeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

func validate(_ context.Context, r *fence.Request) error {
	if d := r.Values.Get(optSwitchDir); !filepath.IsAbs(d) {
		return fmt.Errorf("switch_dir %q must be an absolute path", d)
	}
	if r.Plug != "" && !nodeRE.MatchString(r.Plug) {
		return fmt.Errorf("plug %q is not a node name", r.Plug)
	}
	return nil
}

func (s labSwitch) status(target string) (fence.Power, error) {
	data, err := os.ReadFile(s.path("power", target))
	if errors.Is(err, os.ErrNotExist) {
		return fence.PowerUnknown, fmt.Errorf("the power switch does not know node %q", target)
	}
	if err != nil {
		return fence.PowerUnknown, err
	}
	switch strings.TrimSpace(string(data)) {
	case "on":
		return fence.PowerOn, nil
	case "off":
		return fence.PowerOff, nil
	}
	return fence.PowerUnknown, nil
}

func (s labSwitch) list(action string) ([]fence.Plug, error) {
	entries, err := os.ReadDir(s.path("power"))
	if err != nil {
		return nil, err
	}
	var plugs []fence.Plug
	for _, e := range entries {
		n := e.Name()
		// Skip the switch's temp files (".tmp" anywhere in the name).
		if e.IsDir() || !nodeRE.MatchString(n) || strings.Contains(n, ".tmp") {
			continue
		}
		p := fence.Plug{ID: n}
		if action == fence.ActionListStatus {
			p.State, _ = s.status(n)
		}
		plugs = append(plugs, p)
	}
	sort.Slice(plugs, func(i, j int) bool { return plugs[i].ID < plugs[j].ID })
	return plugs, nil
}

func (s labSwitch) alive(now time.Time) error {
	fi, err := os.Stat(s.path("alive"))
	if err != nil {
		return fmt.Errorf("the power switch is not running: %v", err)
	}
	if age := now.Sub(fi.ModTime()); age > aliveMaxAge {
		return fmt.Errorf("the power switch is not running: %s not touched for %s", s.path("alive"), age.Round(time.Millisecond))
	}
	return nil
}

// request hands "<action> <target>" to the switch and waits for its answer.
func (s labSwitch) request(ctx context.Context, r *fence.Request, action string) error {
	if !nodeRE.MatchString(r.Plug) {
		return fmt.Errorf("plug %q is not a node name", r.Plug)
	}
	id := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	tmp := s.path("req", "."+id+".tmp")
	req := s.path("req", id+".req")
	if err := writeFileSync(tmp, action+" "+r.Plug+"\n"); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing the request: %v", err)
	}
	if err := os.Rename(tmp, req); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("submitting the request: %v", err)
	}
	r.Log.Infof("request %s: %s %s", id, action, r.Plug)
	done := s.path("done", id)
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		data, err := os.ReadFile(done)
		if err == nil && strings.TrimSpace(string(data)) != "" {
			_ = os.Remove(done)
			code, err := strconv.Atoi(strings.TrimSpace(string(data)))
			switch {
			case err != nil:
				return fmt.Errorf("the power switch answered %q to request %s", strings.TrimSpace(string(data)), id)
			case code != 0:
				return fmt.Errorf("the power switch failed to %s %s (exit code %d, request %s)", action, r.Plug, code, id)
			}
			r.Log.Infof("request %s done", id)
			return nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			r.Log.Debugf("reading %s: %v", done, err)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			if os.Remove(req) == nil {
				return fmt.Errorf("the power switch did not answer request %s (%s %s) in time, request withdrawn: %v", id, action, r.Plug, ctx.Err())
			}
			return fmt.Errorf("no answer from the power switch to request %s (%s %s): %v", id, action, r.Plug, ctx.Err())
		}
	}
}

func writeFileSync(name, content string) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
