package ocf

import (
	"context"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Run executes the agent as a process: it reads os.Args and os.Environ and
// exits with the OCF exit code. An agent's main is just ocf.Run(&agent).
func Run(agent *Agent) {
	os.Exit(agent.Main(os.Args, os.Environ(), os.Stdout, os.Stderr))
}

// Main runs one invocation and returns the exit code. args[1] is the action;
// environ is in os.Environ() form. It never panics and never exits, so tests
// can drive the whole contract in-process.
func (a *Agent) Main(args, environ []string, stdout, stderr io.Writer) int {
	return a.main(args, environ, stdout, stderr, defaultSystem())
}

// system holds the few things Main takes from the outside world, so tests can
// replace syslog, files, the pid and the log flush wait.
type system struct {
	pid        int
	now        func() time.Time
	dialSyslog func(syslog.Priority, string) (agentlog.SyslogWriter, error)
	openFile   func(string) (io.WriteCloser, error)
	// logFlushWait bounds how long exit waits for queued log messages.
	logFlushWait time.Duration
}

func defaultSystem() system {
	return system{
		pid:          os.Getpid(),
		now:          time.Now,
		dialSyslog:   agentlog.DialSyslog,
		openFile:     openLogFile,
		logFlushWait: 250 * time.Millisecond,
	}
}

func (a *Agent) main(args, environ []string, stdout, stderr io.Writer, sys system) int {
	start := sys.now()
	argv0, action := "", ""
	if len(args) > 0 {
		argv0 = args[0]
	}
	if len(args) > 1 {
		action = args[1]
	}

	// meta-data and usage read no parameters and cannot fail on a bad
	// environment: pcs and crm_resource call them with none at all.
	switch action {
	case ActionMetaData:
		if _, err := io.WriteString(stdout, a.MetaData()); err != nil {
			writeExitReason(stderr, "cannot write meta-data: "+err.Error())
			return int(ErrGeneric)
		}
		return int(Success)
	case ActionUsage, ActionHelp, "-h", "--help":
		a.writeUsage(stdout, argv0)
		return int(Success)
	}

	spec, known := lookupAction(action)
	if !known {
		// Like resource-agents' own agents: usage on stderr and
		// OCF_ERR_UNIMPLEMENTED, which is also what ocf-tester expects
		// for optional actions an agent does not support.
		a.writeUsage(stderr, argv0)
		reason := "no action given"
		if action != "" {
			reason = fmt.Sprintf("unknown action %q", action)
		}
		writeExitReason(stderr, reason)
		return int(ErrUnimplemented)
	}

	env := ParseEnv(environ)
	stderrMu := &sync.Mutex{}
	log := a.newRequestLogger(env, stderr, stderrMu, sys)
	req := &Request{Log: log, action: action, env: env, agent: a, timeout: a.budgetFor(action, env)}
	for _, w := range env.Warnings {
		log.Warnf("%s", w)
	}

	code, reason := req.outcome(a.dispatch(req, spec, start))
	log.Debugf("%s %s: exit code %d (%s)", req.Instance(), action, int(code), code)
	if reason != "" {
		level := agentlog.Error
		if code.IsState() {
			level = agentlog.Info
		}
		log.enqueue(logRecord{level: level, msg: reason, quietOnStderr: true})
	}

	log.close(sys.logFlushWait)
	if reason != "" {
		stderrMu.Lock()
		writeExitReason(stderr, reason)
		stderrMu.Unlock()
	}
	return int(code)
}

// outcome turns the action's error into the exit code and the exit reason to
// print ("" for none). Every failure gets a reason; a state code only passes
// on an explicit one, and a probe's NotRunning - the expected answer on most
// nodes - never gets one.
func (r *Request) outcome(err error) (ExitCode, string) {
	code := CodeOf(err)
	switch {
	case code == Success, code == NotRunning && r.IsProbe():
		return code, ""
	}
	reason := r.Log.redact.Redact(reasonOf(err, r.action))
	if reason == "" && !code.IsState() {
		reason = fmt.Sprintf("%s failed: %s", r.action, code.Description())
	}
	return code, reason
}

func (a *Agent) newRequestLogger(env *Env, stderr io.Writer, stderrMu *sync.Mutex, sys system) *Logger {
	typ := env.ResourceType
	if typ == "" {
		typ = a.Name
	}
	// ocf-shellfuncs tags messages "<script>(<instance>)[<pid>]"; the script
	// name is the resource type.
	tag := typ
	if env.ResourceInstance != "" {
		tag += "(" + env.ResourceInstance + ")"
	}
	stderrTag := fmt.Sprintf("%s[%d]", tag, sys.pid)
	syslogTag := tag // log/syslog appends [pid] itself
	if env.LogTag != "" {
		stderrTag, syslogTag = env.LogTag, env.LogTag
	}
	facility, syslogOn, warning := syslogFacility(env.LogFacility)
	if warning != "" {
		env.Warnings = append(env.Warnings, warning)
	}
	return newLogger(loggerConfig{
		stderr:     stderr,
		stderrMu:   stderrMu,
		stderrTag:  stderrTag,
		fileTag:    stderrTag,
		debug:      env.Debug,
		redact:     secretRedactor(a.Params, env.Params),
		syslogOn:   syslogOn,
		facility:   facility,
		syslogTag:  syslogTag,
		dialSyslog: sys.dialSyslog,
		logFile:    env.LogFile,
		debugLog:   env.DebugLog,
		openFile:   sys.openFile,
		now:        sys.now,
	})
}

// dispatch checks that the action can run, then runs validation and the
// handler under the action's deadline.
func (a *Agent) dispatch(req *Request, spec actionSpec, start time.Time) error {
	if err := a.Check(); err != nil {
		return Errorf(ErrGeneric, "agent %s is declared incorrectly: %s", a.Name, agentlog.JoinErrors(err))
	}
	if !a.implemented(spec) {
		return Errorf(ErrUnimplemented, "%s: action not supported by %s", spec.name, a.Name)
	}
	if req.Log.DebugEnabled() {
		req.Log.Debugf("%s %s: parameters %s", req.Instance(), req.action, a.describeParams(req.env))
	}
	problems := validateParams(a.Params, req.env.Params)
	if len(problems) > 0 && spec.name == ActionStop && !a.stopsByRecord(req) {
		// Decided before any deadline starts: a stop with nothing to do succeeds even
		// under an absurdly short timeout.
		return req.invalidParams(problems)
	}

	ctxDeadline, giveUp := actionDeadlines(start, req.timeout)
	ctx, cancel := context.WithDeadline(context.Background(), ctxDeadline)
	defer cancel()

	done := make(chan error, 1) // buffered: an abandoned handler must not leak blocked
	go func() {
		defer func() {
			if p := recover(); p != nil {
				req.Log.Errorf("panic in %s: %v; stack: %s", req.action, p, debug.Stack())
				done <- Errorf(ErrGeneric, "internal error in %s: %v", req.action, p)
			}
		}()
		done <- a.perform(ctx, req, spec, problems)
	}()

	timer := time.NewTimer(time.Until(giveUp))
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil && ctx.Err() != nil && CodeOf(err) == ErrGeneric {
			// The handler noticed the deadline (perhaps through a library
			// that wraps ctx errors oddly); say so rather than echo it.
			return Errorf(ErrGeneric, "%s ran out of time (budget %s): %w", req.action, req.timeout, err)
		}
		return err
	case <-timer.C:
		return Errorf(ErrGeneric, "%s did not finish within its %s budget; gave up before the cluster's timeout",
			req.action, req.timeout)
	}
}

// perform runs validation and then the handler, applying the OCF conventions
// for validation failures (see validationOutcome). problems are the runtime's
// findings about the parameters.
func (a *Agent) perform(ctx context.Context, req *Request, spec actionSpec, problems []string) error {
	if len(problems) > 0 {
		switch {
		case spec.name == ActionStop && a.stopsByRecord(req):
			return a.stopByRecord(ctx, req, strings.Join(problems, "; "))
		case isMonitor(spec.name) && a.MonitorRecorded != nil && req.HasRecord():
			for _, p := range problems {
				req.Log.Errorf("%s", p)
			}
			req.Log.Warnf("%s; reporting the state of what this node's record says was started here", strings.Join(problems, "; "))
			return a.MonitorRecorded(ctx, req)
		}
		return req.invalidParams(problems)
	}
	if spec.runsValidate && a.Validate != nil {
		if err := a.Validate(ctx, req); err != nil {
			return req.validationOutcome(err, false)
		}
	}
	if spec.handler == nil { // validate-all
		return nil
	}
	err := spec.handler(a)(ctx, req)
	if spec.name == ActionStop && isConfigError(CodeOf(err)) {
		// The handler found the configuration unusable: the same rule as for
		// parameters the runtime refuses.
		if a.stopsByRecord(req) {
			return a.stopByRecord(ctx, req, reasonOf(err, req.action))
		}
		req.Log.Warnf("%s; nothing can have been started with this configuration, so stop succeeds", reasonOf(err, req.action))
		return nil
	}
	if req.IsProbe() && provesAbsence(CodeOf(err)) {
		// Same rule as for validation: a node without the prerequisites
		// cannot be running the resource, whichever code path noticed.
		req.Log.Infof("%s; probe reports not running", reasonOf(err, req.action))
		return Exit(NotRunning)
	}
	return err
}

// invalidParams logs the runtime's findings and applies validationOutcome.
func (r *Request) invalidParams(problems []string) error {
	for _, p := range problems {
		r.Log.Errorf("%s", p)
	}
	err := Errorf(ErrConfigured, "invalid configuration: %s", strings.Join(problems, "; "))
	return r.validationOutcome(err, true)
}

// stopsByRecord reports whether a stop with unusable parameters must stop what this
// node's record names.
func (a *Agent) stopsByRecord(req *Request) bool {
	return a.StopRecorded != nil && req.HasRecord()
}

// stopByRecord runs StopRecorded, saying why.
func (a *Agent) stopByRecord(ctx context.Context, req *Request, why string) error {
	req.Log.Warnf("%s; stopping what this node's record says was started here (%s)", why, req.RecordPath())
	return a.StopRecorded(ctx, req)
}

// isConfigError: the code says the configuration cannot be used.
func isConfigError(code ExitCode) bool {
	return code == ErrConfigured || code == ErrArgs
}

// provesAbsence reports whether a failure code means the resource cannot be
// running on this node: it is not installed or not configured here. Handlers
// must not use ErrInstalled for "a daemon is unreachable" - that proves
// nothing about a guest that may still be running.
func provesAbsence(code ExitCode) bool {
	return code == ErrInstalled || code == ErrConfigured || code == ErrArgs
}

// validationOutcome decides what a failed validation means for the action
// being run. A nil result means the action succeeds without its handler.
//
// The rules follow resource-agents' ocf-rarun and Pacemaker's own handling,
// adjusted where a wrong "stopped" would let a VM run twice on shared storage:
//
//   - validate-all, start, promote, migrate, reload: the failure as is
//     (parameter errors are ErrConfigured: the configuration is the same on
//     every node, so Pacemaker should not try elsewhere).
//   - stop with invalid parameters: Success, unless this node's record says
//     the agent started something here (then StopRecorded stops exactly that;
//     see record.go). start validates the same parameters before touching
//     anything, so nothing can be running under this configuration, and
//     failing a stop would get the node fenced for a typo (Pacemaker stops a
//     resource after every failed start). The agent's own Validate is not
//     consulted on stop: "libvirtd unreachable" does NOT prove the guest is
//     gone, and only the agent's stop logic can judge that.
//   - probe (monitor/status at interval 0): invalid parameters, or a Validate
//     (or monitor) failure saying ErrConfigured/ErrArgs/ErrInstalled, mean
//     "not running here": the resource cannot run on a node that lacks its
//     prerequisites (ocf-tester demands 7 or 5 here; Pacemaker 2.1 masks 5/6
//     on probes too). Other failures (ErrGeneric, ErrPerm) pass through,
//     because they prove nothing about the resource's state.
//   - recurring monitor: ErrGeneric. The resource started with a valid
//     environment that has since changed; a local restart is the proportionate
//     answer, not the fatal ban ErrConfigured would trigger.
func (r *Request) validationOutcome(err error, paramsInvalid bool) error {
	code := CodeOf(err)
	switch {
	case r.action == ActionStop && paramsInvalid:
		r.Log.Warnf("%s; nothing can be running with this configuration, so stop succeeds", reasonOf(err, r.action))
		return nil
	case r.IsProbe() && (paramsInvalid || provesAbsence(code)):
		r.Log.Infof("%s; probe reports not running", reasonOf(err, r.action))
		return Exit(NotRunning)
	case isMonitor(r.action) && !r.IsProbe():
		return &Error{Code: ErrGeneric, Reason: reasonOf(err, r.action), Err: err}
	}
	return err
}

// describeParams lists the declared parameters for the debug log, with
// secret values masked.
func (a *Agent) describeParams(env *Env) string {
	var parts []string
	for i := range a.Params {
		p := &a.Params[i]
		v, ok := lookupParam(env.Params, p.Name)
		switch {
		case !ok:
			continue
		case p.Secret:
			v = redactedMark
		default:
			v = fmt.Sprintf("%q", v)
		}
		parts = append(parts, p.Name+"="+v)
	}
	if len(parts) == 0 {
		return "(none set)"
	}
	return strings.Join(parts, " ")
}
