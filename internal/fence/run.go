package fence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitOff     = 2 // status: the plug is off
)

// runConfig holds what differs between Run and Main (and tests).
type runConfig struct {
	syslog func(string) (agentlog.SyslogWriter, error) // nil: no syslog
	grace  time.Duration                               // extra time after the deadline; 0: defaultGrace
}

const defaultGrace = time.Second

// Main runs the agent with the given arguments (without the program name)
// and streams, and returns the exit code. It does not touch the process
// (no syslog, no signals, no exit) and is what tests call.
func (a *Agent) Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return a.run(context.Background(), args, stdin, stdout, stderr, runConfig{})
}

// Run is the whole main of a fence agent: it runs a with the process's
// arguments and standard streams, logs to syslog too, turns SIGTERM and
// SIGINT into a failure, and exits with the resulting code.
func Run(a *Agent) {
	if a.Name == "" && len(os.Args) > 0 {
		a.Name = filepath.Base(os.Args[0])
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := a.run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, runConfig{syslog: dialSyslog})
	stop()
	os.Exit(code)
}

// run is one invocation, in the order internal/ocf's runtime follows: parse the options,
// set up the logger, answer the actions that need no device (help, version, meta-data,
// manpage), validate, then perform the action under its deadline and report.
func (a *Agent) run(parent context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, cfg runConfig) int {
	log := newLogger(stderr)
	defer log.close()
	if err := a.Check(); err != nil {
		log.Errorf("agent definition error: %v", err)
		return ExitFailure
	}
	set := a.optionSet()
	p, err := parse(set, args, stdin)
	if err != nil {
		log.Errorf("Parse error: %v", err)
		log.Errorf("Please use '-h' for usage")
		return ExitFailure
	}
	v := newValues(set, p.raw)
	a.setUpLogger(log, set, v, cfg)
	for _, n := range p.notes {
		log.logf(n.level, "%s", n.msg)
	}

	action := actionOf(v)
	if code, done := a.special(action, v, stdout, log); done {
		return code
	}
	if !a.supports(action) {
		log.Errorf("Failed: unsupported action %q (supported: %s)", agentlog.Clip(action), strings.Join(a.actions(), ", "))
		return ExitFailure
	}
	a.logOptions(log, set, v)
	if !validate(log, a.needsPlug(action), action, v) {
		return ExitFailure
	}

	req := &Request{Action: action, Plug: v.Get(OptPlug), NodeName: v.Get(OptNodeName), Values: v, Log: log}
	res := a.performWithin(parent, req, a.budget(action, v), cfg.grace)
	for _, l := range res.out {
		fmt.Fprintln(stdout, l)
	}
	if res.err != nil {
		log.Errorf("Failed: %v", res.err)
	}
	if action == ActionValidateAll && res.code != ExitOK {
		log.Errorf("validate-all failed")
	}
	return res.code
}

// parse reads the options from the command line, or from stdin when there is none (how
// Pacemaker's fencer calls an agent).
func parse(set *optionSet, args []string, stdin io.Reader) (*parsed, error) {
	if len(args) > 0 {
		return parseArgs(set, args)
	}
	return parseStdin(set, stdin)
}

// setUpLogger applies the logging options; secrets first, so nothing logged from here
// on can leak them.
func (a *Agent) setUpLogger(log *Logger, set *optionSet, v *Values, cfg runConfig) {
	for _, s := range set.specs {
		if s.Secret && v.IsSet(s.Name) {
			log.addSecret(v.Get(s.Name))
		}
	}
	log.verbose = v.Bool(OptVerbose)
	if v.Bool(OptQuiet) {
		log.stderr = nil
	}
	if cfg.syslog != nil {
		log.sys = newSyslogSink(a.Name, cfg.syslog)
	}
	if f := v.Get(OptDebugFile); f != "" && !filepath.IsAbs(f) {
		// Relative to the fencer's working directory (/ or its state folder): never meant.
		log.Warnf("debug_file %s is not an absolute path; not writing it", agentlog.Clip(f))
	} else if f != "" {
		// O_NONBLOCK: opening a FIFO nobody reads would block forever; this fails at once.
		fh, err := os.OpenFile(f, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0o600)
		if err != nil {
			log.Warnf("cannot open debug file: %v", err)
		} else {
			log.file = fh
		}
	}
}

// actionOf is the action asked for, in the spelling the agent knows.
func actionOf(v *Values) string {
	action := strings.ToLower(strings.TrimSpace(v.Get(OptAction)))
	if action == "meta-data" {
		return ActionMetadata
	}
	return action
}

// special answers what needs no device and no valid options: help and version (whatever
// the action), meta-data and the manual. done is false for every other action.
func (a *Agent) special(action string, v *Values, stdout io.Writer, log *Logger) (code int, done bool) {
	switch {
	case v.Bool(OptHelp):
		a.writeUsage(stdout)
		return ExitOK, true
	case v.Bool(OptVersion):
		ver := a.Version
		if ver == "" {
			ver = "unknown"
		}
		fmt.Fprintln(stdout, ver)
		return ExitOK, true
	case action == ActionMetadata:
		if err := a.WriteMetadata(stdout); err != nil {
			log.Errorf("writing meta-data: %v", err)
			return ExitFailure, true
		}
		return ExitOK, true
	case action == ActionManpage:
		a.writeManpage(stdout)
		return ExitOK, true
	}
	return 0, false
}

// validate logs every option error found without contacting anything, and reports
// whether there was none.
func validate(log *Logger, needsPlug bool, action string, v *Values) bool {
	errs := v.staticErrors(needsPlug)
	if len(errs) == 0 {
		return true
	}
	for _, e := range errs {
		log.Errorf("Failed: %v", e)
	}
	if action == ActionValidateAll {
		log.Errorf("validate-all failed")
	} else {
		log.Errorf("Please use '-h' for usage")
	}
	return false
}

// performWithin performs the request under its budget. An action that overruns it (or
// is interrupted through parent) gets grace (defaultGrace when 0) to notice before it is
// abandoned and reported as failed; a panic is a failure too.
func (a *Agent) performWithin(parent context.Context, req *Request, budget, grace time.Duration) outcome {
	ctx, cancel := context.WithTimeout(parent, budget)
	defer cancel()
	req.Log.Debugf("action %s, plug %q, deadline in %s", req.Action, req.Plug, budget)

	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- outcome{code: ExitFailure, err: fmt.Errorf("internal error: panic: %v", r)}
			}
		}()
		done <- a.perform(ctx, req)
	}()

	select {
	case res := <-done:
		return res
	case <-ctx.Done():
	}
	if grace <= 0 {
		grace = defaultGrace
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case res := <-done:
		return res
	case <-t.C:
	}
	if parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return outcome{code: ExitFailure, err: fmt.Errorf("action %s timed out after %s and did not stop", req.Action, budget)}
	}
	return outcome{code: ExitFailure, err: fmt.Errorf("action %s interrupted", req.Action)}
}

// logOptions logs the effective options at debug level, secrets masked.
func (a *Agent) logOptions(log *Logger, set *optionSet, v *Values) {
	var parts []string
	for _, s := range set.specs {
		if !v.IsSet(s.Name) {
			continue
		}
		val := v.Get(s.Name)
		if s.Secret {
			val = redacted
		}
		parts = append(parts, s.Name+"="+agentlog.Clip(val))
	}
	sort.Strings(parts)
	log.Debugf("options: %s", strings.Join(parts, " "))
}

// budget applies the deadline rule documented in the package comment.
func (a *Agent) budget(action string, v *Values) time.Duration {
	pt, pw := v.Duration(OptPowerTimeout), v.Duration(OptPowerWait)
	var b time.Duration
	if d, ok := a.Timeouts[action]; ok && d > 0 {
		b = d
	} else {
		switch action {
		case ActionOn, ActionOff:
			b = pw + 2*pt
		case ActionReboot:
			b = 2 * (pw + 2*pt)
		default:
			b = pt
		}
	}
	if action == ActionOff || action == ActionReboot {
		b += v.Duration(OptDelay)
	}
	if b <= 0 {
		b = 20 * time.Second
	}
	return b
}
