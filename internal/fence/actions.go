package fence

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/deadline"
)

// outcome is what an action produced: stdout lines, an error to log, the code.
type outcome struct {
	code int
	out  []string
	err  error
}

func fail(format string, args ...any) outcome {
	return outcome{code: ExitFailure, err: fmt.Errorf(format, args...)}
}

func ok(lines ...string) outcome { return outcome{code: ExitOK, out: lines} }

// perform runs a validated action. It runs in its own goroutine.
func (a *Agent) perform(ctx context.Context, r *Request) outcome {
	if a.Validate != nil {
		if err := a.Validate(ctx, r); err != nil {
			if r.Action == ActionValidateAll {
				return fail("%v", err)
			}
			return fail("invalid configuration: %v", err)
		}
	}
	switch r.Action {
	case ActionValidateAll:
		return ok()
	case ActionStatus:
		return a.doStatus(ctx, r)
	case ActionOn:
		return a.doPower(ctx, r, PowerOn)
	case ActionOff:
		if err := a.delay(ctx, r); err != nil {
			return fail("interrupted during delay: %v", err)
		}
		return a.doPower(ctx, r, PowerOff)
	case ActionReboot:
		return a.doReboot(ctx, r)
	case ActionList, ActionListStatus:
		return a.doList(ctx, r)
	case ActionMonitor:
		return a.doMonitor(ctx, r)
	}
	return fail("unsupported action %q", r.Action)
}

func (a *Agent) delay(ctx context.Context, r *Request) error {
	d := r.Values.Duration(OptDelay)
	if d <= 0 {
		return nil
	}
	r.Log.Infof("delay %s before %s", d, r.Action)
	return deadline.Sleep(ctx, d)
}

func (a *Agent) doStatus(ctx context.Context, r *Request) outcome {
	p, err := a.Status(ctx, r)
	if err != nil {
		return fail("cannot get the status of plug %q: %v", r.Plug, err)
	}
	switch p {
	case PowerOn:
		return ok("Status: ON")
	case PowerOff:
		return outcome{code: ExitOff, out: []string{"Status: OFF"}}
	}
	return outcome{code: ExitFailure, out: []string{"Status: UNKNOWN"},
		err: fmt.Errorf("status of plug %q is unknown", r.Plug)}
}

func word(p Power) string { return strings.ToUpper(p.String()) }

// doPower brings the plug to want (on or off) and reports like fence-agents.
func (a *Agent) doPower(ctx context.Context, r *Request, want Power) outcome {
	if a.Status != nil {
		cur, err := a.Status(ctx, r)
		if err != nil {
			return fail("cannot get the status of plug %q: %v", r.Plug, err)
		}
		if cur == want {
			return ok("Success: Already " + word(want))
		}
		if cur == PowerUnknown {
			r.Log.Warnf("status of plug %q is unknown, powering %s anyway", r.Plug, want)
		}
	}
	if err := a.setPower(ctx, r, want); err != nil {
		return outcome{code: ExitFailure, err: err}
	}
	return ok("Success: Powered " + word(want))
}

// setPower issues the command and waits for the status to follow.
func (a *Agent) setPower(ctx context.Context, r *Request, want Power) error {
	fn := a.Off
	if want == PowerOn {
		fn = a.On
	}
	r.Log.Infof("powering %s plug %q", want, r.Plug)
	if err := fn(ctx, r); err != nil {
		return fmt.Errorf("power %s of plug %q: %v", want, r.Plug, err)
	}
	if err := deadline.Sleep(ctx, r.Values.Duration(OptPowerWait)); err != nil {
		return fmt.Errorf("interrupted after power %s of plug %q: %v", want, r.Plug, err)
	}
	if a.Status == nil {
		return nil
	}
	wait, cancel := context.WithTimeout(ctx, r.Values.Duration(OptPowerTimeout))
	defer cancel()
	interval := r.Values.Duration(OptStonithStatusSleep)
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	for {
		cur, err := a.Status(wait, r)
		switch {
		case err != nil:
			r.Log.Debugf("status of plug %q while waiting: %v", r.Plug, err)
		case cur == want:
			return nil
		default:
			r.Log.Debugf("plug %q is %s, waiting for %s", r.Plug, cur, want)
		}
		if deadline.Sleep(wait, interval) != nil {
			return fmt.Errorf("timed out waiting for plug %q to power %s", r.Plug, strings.ToUpper(want.String()))
		}
	}
}

func (a *Agent) doReboot(ctx context.Context, r *Request) outcome {
	if err := a.delay(ctx, r); err != nil {
		return fail("interrupted during delay: %v", err)
	}
	if a.Reboot != nil {
		r.Log.Infof("rebooting plug %q", r.Plug)
		if err := a.Reboot(ctx, r); err != nil {
			return fail("reboot of plug %q: %v", r.Plug, err)
		}
		return ok("Success: Rebooted")
	}
	cur := PowerUnknown
	if a.Status != nil {
		var err error
		if cur, err = a.Status(ctx, r); err != nil {
			return fail("cannot get the status of plug %q: %v", r.Plug, err)
		}
	}
	if cur != PowerOff {
		if err := a.setPower(ctx, r, PowerOff); err != nil {
			return outcome{code: ExitFailure, err: err}
		}
	}
	// The target is off: it is fenced. A failed power-on is reported but
	// does not fail the reboot.
	if err := a.setPower(ctx, r, PowerOn); err != nil {
		r.Log.Errorf("plug %q was powered off but not back on: %v", r.Plug, err)
	}
	return ok("Success: Rebooted")
}

func (a *Agent) doList(ctx context.Context, r *Request) outcome {
	plugs, err := a.List(ctx, r)
	if err != nil {
		return fail("cannot list plugs: %v", err)
	}
	sep := r.Values.Get(OptSeparator)
	lines := make([]string, 0, len(plugs))
	for _, p := range plugs {
		l := p.ID + sep + p.Alias
		if r.Action == ActionListStatus {
			st := "UNKNOWN"
			if p.State != PowerUnknown {
				st = p.State.String()
			}
			l += sep + st
		}
		lines = append(lines, l)
	}
	return ok(lines...)
}

func (a *Agent) doMonitor(ctx context.Context, r *Request) outcome {
	switch {
	case a.Monitor != nil:
		if err := a.Monitor(ctx, r); err != nil {
			return fail("monitor: %v", err)
		}
	case a.List != nil:
		if _, err := a.List(ctx, r); err != nil {
			return fail("monitor: cannot list plugs: %v", err)
		}
	case a.Status != nil && a.NoPlug:
		p, err := a.Status(ctx, r)
		if err != nil {
			return fail("monitor: %v", err)
		}
		if p == PowerUnknown {
			return fail("monitor: status is unknown")
		}
	default:
		r.Log.Debugf("monitor: the agent has no device check")
	}
	return ok()
}
