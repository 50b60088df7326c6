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

func (a *Agent) run(parent context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, cfg runConfig) int {
	log := newLogger(stderr)
	defer log.close()
	if err := a.Check(); err != nil {
		log.Errorf("agent definition error: %v", err)
		return ExitFailure
	}
	set := a.optionSet()
	var p *parsed
	var err error
	if len(args) > 0 {
		p, err = parseArgs(set, args)
	} else {
		p, err = parseStdin(set, stdin)
	}
	if err != nil {
		log.Errorf("Parse error: %v", err)
		log.Errorf("Please use '-h' for usage")
		return ExitFailure
	}
	v := newValues(set, p.raw)

	// Logger configuration; secrets first so nothing below can leak them.
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
	for _, n := range p.notes {
		log.logf(n.level, "%s", n.msg)
	}

	if v.Bool(OptHelp) {
		a.writeUsage(stdout)
		return ExitOK
	}
	if v.Bool(OptVersion) {
		ver := a.Version
		if ver == "" {
			ver = "unknown"
		}
		fmt.Fprintln(stdout, ver)
		return ExitOK
	}
	action := strings.ToLower(strings.TrimSpace(v.Get(OptAction)))
	if action == "meta-data" {
		action = ActionMetadata
	}
	switch action {
	case ActionMetadata:
		if err := a.WriteMetadata(stdout); err != nil {
			log.Errorf("writing meta-data: %v", err)
			return ExitFailure
		}
		return ExitOK
	case ActionManpage:
		a.writeManpage(stdout)
		return ExitOK
	}
	if !a.supports(action) {
		log.Errorf("Failed: unsupported action %q (supported: %s)", agentlog.Clip(action), strings.Join(a.actions(), ", "))
		return ExitFailure
	}
	a.logOptions(log, set, v)

	if errs := v.staticErrors(a.needsPlug(action)); len(errs) > 0 {
		for _, e := range errs {
			log.Errorf("Failed: %v", e)
		}
		if action == ActionValidateAll {
			log.Errorf("validate-all failed")
		} else {
			log.Errorf("Please use '-h' for usage")
		}
		return ExitFailure
	}

	req := &Request{Action: action, Plug: v.Get(OptPlug), NodeName: v.Get(OptNodeName), Values: v, Log: log}
	budget := a.budget(action, v)
	ctx, cancel := context.WithTimeout(parent, budget)
	defer cancel()
	log.Debugf("action %s, plug %q, deadline in %s", action, req.Plug, budget)

	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- outcome{code: ExitFailure, err: fmt.Errorf("internal error: panic: %v", r)}
			}
		}()
		done <- a.perform(ctx, req)
	}()

	var res outcome
	select {
	case res = <-done:
	case <-ctx.Done():
		grace := cfg.grace
		if grace <= 0 {
			grace = defaultGrace
		}
		t := time.NewTimer(grace)
		select {
		case res = <-done:
			t.Stop()
		case <-t.C:
			if parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				res = outcome{code: ExitFailure, err: fmt.Errorf("action %s timed out after %s and did not stop", action, budget)}
			} else {
				res = outcome{code: ExitFailure, err: fmt.Errorf("action %s interrupted", action)}
			}
		}
	}
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
