package ocf

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// baseEnv is a valid configuration for minimalAgent.
var baseEnv = []string{"OCF_RESOURCE_INSTANCE=r1", "OCF_RESKEY_name=vm1", "HA_LOGFACILITY=none"}

func withEnv(extra ...string) []string {
	return append(append([]string(nil), baseEnv...), extra...)
}

// agentReturning builds an agent whose start returns err.
func agentReturning(err error) *Agent {
	a := minimalAgent()
	a.Start = func(context.Context, *Request) error { return err }
	return a
}

func TestEveryExitCodeReachesTheCaller(t *testing.T) {
	for code := range exitCodeInfo {
		t.Run(code.String(), func(t *testing.T) {
			r := invoke(agentReturning(Errorf(code, "reason for %d", int(code))), newTestWorld(), ActionStart, baseEnv...)
			if r.code != int(code) {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", r.code, code, r.stderr)
			}
			if code == Success {
				r.noExitReason(t)
				return
			}
			if got := r.exitReason(t); got != fmt.Sprintf("reason for %d", int(code)) {
				t.Errorf("exit reason %q", got)
			}
		})
	}
}

func TestStateCodesWithoutReasonStayQuiet(t *testing.T) {
	for _, code := range []ExitCode{NotRunning, RunningPromoted, Degraded, DegradedPromoted} {
		r := invoke(agentReturning(Exit(code)), newTestWorld(), ActionStart, baseEnv...)
		if r.code != int(code) {
			t.Fatalf("%v: exit %d", code, r.code)
		}
		r.noExitReason(t)
	}
}

func TestFailureWithoutReasonGetsOne(t *testing.T) {
	for _, code := range []ExitCode{ErrGeneric, ErrArgs, ErrPerm, ErrInstalled, ErrConfigured, FailedPromoted, ErrUnimplemented} {
		r := invoke(agentReturning(Exit(code)), newTestWorld(), ActionStart, baseEnv...)
		if r.code != int(code) {
			t.Fatalf("%v: exit %d", code, r.code)
		}
		if got := r.exitReason(t); got != "start failed: "+code.Description() {
			t.Errorf("%v: reason %q", code, got)
		}
	}
}

func TestPlainErrorIsGeneric(t *testing.T) {
	r := invoke(agentReturning(errors.New("qemu said\nno")), newTestWorld(), ActionStart, baseEnv...)
	if r.code != int(ErrGeneric) || r.exitReason(t) != "qemu said no" {
		t.Fatalf("code %d reason %q", r.code, r.exitReasons())
	}
}

func TestWrappedOCFErrorKeepsItsCode(t *testing.T) {
	inner := Errorf(ErrInstalled, "virsh missing")
	r := invoke(agentReturning(fmt.Errorf("preparing: %w", inner)), newTestWorld(), ActionStart, baseEnv...)
	if r.code != int(ErrInstalled) || r.exitReason(t) != "preparing: virsh missing" {
		t.Fatalf("code %d reasons %q", r.code, r.exitReasons())
	}
}

func TestInvalidExitCodeBecomesGeneric(t *testing.T) {
	r := invoke(agentReturning(&Error{Code: 42, Reason: "odd"}), newTestWorld(), ActionStart, baseEnv...)
	if r.code != int(ErrGeneric) || r.exitReason(t) != "odd" {
		t.Fatalf("code %d reasons %q", r.code, r.exitReasons())
	}
}

func TestUnknownAndMissingAction(t *testing.T) {
	for _, action := range []string{"", "frobnicate", "START", "meta_data"} {
		r := invoke(minimalAgent(), newTestWorld(), action, baseEnv...)
		if r.code != int(ErrUnimplemented) {
			t.Errorf("%q: exit %d, want 3", action, r.code)
		}
		if !strings.Contains(r.stderr, "usage: minimal {start|stop|monitor|validate-all|meta-data|usage}") {
			t.Errorf("%q: no usage on stderr:\n%s", action, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("%q: wrote to stdout", action)
		}
		reason := r.exitReason(t)
		if action == "" && reason != "no action given" || action != "" && !strings.Contains(reason, "unknown action") {
			t.Errorf("%q: reason %q", action, reason)
		}
	}
}

func TestUsageAndHelpSucceedWithoutEnvironment(t *testing.T) {
	for _, action := range []string{ActionUsage, ActionHelp, "--help"} {
		r := invoke(minimalAgent(), newTestWorld(), action, "OCF_RESKEY_count=bad")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: minimal {") || r.stderr != "" {
			t.Errorf("%s: code %d stdout %q stderr %q", action, r.code, r.stdout, r.stderr)
		}
	}
	if out := invoke(richAgent(), newTestWorld(), ActionUsage).stdout; !strings.Contains(out,
		"{start|stop|monitor|promote|demote|notify|migrate_to|migrate_from|reload|reload-agent|validate-all|meta-data|usage}") {
		t.Errorf("rich usage: %s", out)
	}
}

func TestUnimplementedActions(t *testing.T) {
	for _, action := range []string{ActionPromote, ActionDemote, ActionNotify, ActionMigrateTo, ActionMigrateFrom, ActionReload, ActionReloadAgent} {
		r := invoke(minimalAgent(), newTestWorld(), action, baseEnv...)
		if r.code != int(ErrUnimplemented) {
			t.Errorf("%s: exit %d", action, r.code)
		}
		if reason := r.exitReason(t); reason != action+": action not supported by minimal" {
			t.Errorf("%s: reason %q", action, reason)
		}
	}
}

func TestEveryImplementedActionRunsItsHandler(t *testing.T) {
	a := richAgent()
	var ran []string
	record := func(name string) Handler {
		return func(_ context.Context, req *Request) error {
			ran = append(ran, name+"="+req.Action())
			return nil
		}
	}
	a.Start, a.Stop, a.Monitor = record("start"), record("stop"), record("monitor")
	a.Promote, a.Demote, a.Notify = record("promote"), record("demote"), record("notify")
	a.MigrateTo, a.MigrateFrom = record("migrate_to"), record("migrate_from")
	a.Reload, a.ReloadAgent = record("reload"), record("reload-agent")
	actions := []string{"start", "stop", "monitor", "status", "promote", "demote", "notify",
		"migrate_to", "migrate_from", "reload", "reload-agent", "validate-all"}
	for _, action := range actions {
		r := invoke(a, newTestWorld(), action, "OCF_RESKEY_config=/etc/vm1.xml", "HA_LOGFACILITY=none")
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", action, r.code, r.stderr)
		}
	}
	want := "start=start stop=stop monitor=monitor monitor=status promote=promote demote=demote notify=notify " +
		"migrate_to=migrate_to migrate_from=migrate_from reload=reload reload-agent=reload-agent"
	if got := strings.Join(ran, " "); got != want {
		t.Errorf("handlers:\n got %s\nwant %s", got, want)
	}
}

func TestValidationFailuresPerAction(t *testing.T) {
	stopRan := false
	a := minimalAgent()
	a.Stop = func(context.Context, *Request) error { stopRan = true; return nil }
	a.Monitor = func(context.Context, *Request) error { t.Error("monitor ran despite invalid params"); return nil }
	a.Start = a.Monitor
	bad := withEnv("OCF_RESKEY_count=many")

	cases := []struct {
		action string
		extra  []string
		code   ExitCode
		reason bool
	}{
		{ActionValidateAll, nil, ErrConfigured, true},
		{ActionStart, nil, ErrConfigured, true},
		{ActionStop, nil, Success, false},                                                 // nothing can run with this config
		{ActionMonitor, nil, NotRunning, false},                                           // probe: no interval
		{ActionMonitor, []string{"OCF_RESKEY_CRM_meta_interval=0"}, NotRunning, false},    // probe
		{ActionStatus, []string{"OCF_RESKEY_CRM_meta_interval=0"}, NotRunning, false},     // probe via alias
		{ActionMonitor, []string{"OCF_RESKEY_CRM_meta_interval=10000"}, ErrGeneric, true}, // recurring
	}
	for _, c := range cases {
		r := invoke(a, newTestWorld(), c.action, append(append([]string(nil), bad...), c.extra...)...)
		if r.code != int(c.code) {
			t.Errorf("%s %v: exit %d, want %d\n%s", c.action, c.extra, r.code, c.code, r.stderr)
			continue
		}
		if c.reason {
			if reason := r.exitReason(t); !strings.Contains(reason, `parameter count: "many" is not an integer`) {
				t.Errorf("%s: reason %q", c.action, reason)
			}
		} else {
			r.noExitReason(t)
		}
	}
	if stopRan {
		t.Error("stop handler ran with invalid parameters")
	}
}

func TestValidationMessagesPerType(t *testing.T) {
	cases := map[string]string{
		"OCF_RESKEY_count=1.5":     `parameter count: "1.5" is not an integer`,
		"OCF_RESKEY_count=0x10":    `parameter count: "0x10" is not an integer`,
		"OCF_RESKEY_enabled=maybe": `parameter enabled: "maybe" is not a boolean`,
		"OCF_RESKEY_enabled=2":     `parameter enabled: "2" is not a boolean`,
	}
	for setting, want := range cases {
		r := invoke(minimalAgent(), newTestWorld(), ActionValidateAll, withEnv(setting)...)
		if r.code != int(ErrConfigured) || !strings.Contains(r.exitReason(t), want) {
			t.Errorf("%s: code %d reasons %q", setting, r.code, r.exitReasons())
		}
	}
	r := invoke(minimalAgent(), newTestWorld(), ActionValidateAll, "OCF_RESKEY_name=")
	if r.code != int(ErrConfigured) || r.exitReason(t) != "invalid configuration: required parameter name is not set" {
		t.Errorf("required: code %d reasons %q", r.code, r.exitReasons())
	}
	r = invoke(minimalAgent(), newTestWorld(), ActionValidateAll, "OCF_RESKEY_count=x", "OCF_RESKEY_enabled=y")
	if reason := r.exitReason(t); !strings.Contains(reason, "is not an integer; required parameter name is not set") {
		t.Errorf("multiple problems not joined in declaration order: %q", reason)
	}
}

func TestValidateAllAcceptsGoodConfigAndIgnoresUnknownParams(t *testing.T) {
	r := invoke(minimalAgent(), newTestWorld(), ActionValidateAll,
		withEnv("OCF_RESKEY_count=-7", "OCF_RESKEY_enabled=YES", "OCF_RESKEY_trace_ra=0", "OCF_RESKEY_stale=x")...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	r.noExitReason(t)
}

func TestAgentValidateHook(t *testing.T) {
	hookErr := Errorf(ErrInstalled, "libvirt not installed")
	var stopCalled bool
	a := minimalAgent()
	a.Validate = func(context.Context, *Request) error { return hookErr }
	a.Stop = func(context.Context, *Request) error { stopCalled = true; return nil }

	cases := []struct {
		action string
		extra  []string
		hook   error
		code   ExitCode
	}{
		{ActionValidateAll, nil, hookErr, ErrInstalled},
		{ActionStart, nil, hookErr, ErrInstalled},
		{ActionMonitor, nil, hookErr, NotRunning},                                           // probe, prerequisites missing
		{ActionMonitor, nil, Errorf(ErrConfigured, "x"), NotRunning},                        // probe
		{ActionMonitor, nil, errors.New("libvirtd unreachable"), ErrGeneric},                // proves nothing
		{ActionMonitor, nil, Errorf(ErrPerm, "no access"), ErrPerm},                         // proves nothing
		{ActionMonitor, []string{"OCF_RESKEY_CRM_meta_interval=5000"}, hookErr, ErrGeneric}, // recurring
		{ActionStop, nil, hookErr, Success},                                                 // hook skipped
	}
	for _, c := range cases {
		hook := c.hook
		a.Validate = func(context.Context, *Request) error { return hook }
		r := invoke(a, newTestWorld(), c.action, withEnv(c.extra...)...)
		if r.code != int(c.code) {
			t.Errorf("%s %v (%v): exit %d, want %d", c.action, c.extra, c.hook, r.code, c.code)
		}
	}
	if !stopCalled {
		t.Error("stop handler did not run")
	}
}

func TestProbeMapsMonitorAbsenceCodesToNotRunning(t *testing.T) {
	for _, c := range []struct {
		ret  error
		want ExitCode
	}{
		{Errorf(ErrInstalled, "no virsh"), NotRunning},
		{Errorf(ErrConfigured, "no domain xml"), NotRunning},
		{Errorf(ErrArgs, "bad path"), NotRunning},
		{Errorf(ErrPerm, "denied"), ErrPerm},
		{errors.New("libvirtd unreachable"), ErrGeneric},
		{Exit(RunningPromoted), RunningPromoted},
	} {
		a := minimalAgent()
		ret := c.ret
		a.Monitor = func(context.Context, *Request) error { return ret }
		probe := invoke(a, newTestWorld(), ActionMonitor, baseEnv...)
		if probe.code != int(c.want) {
			t.Errorf("probe returning %v: exit %d, want %d", c.ret, probe.code, c.want)
		}
		recurring := invoke(a, newTestWorld(), ActionMonitor, withEnv("OCF_RESKEY_CRM_meta_interval=1000")...)
		if recurring.code != int(CodeOf(c.ret)) {
			t.Errorf("recurring monitor returning %v: exit %d", c.ret, recurring.code)
		}
	}
}

func TestProbeNotRunningHasNoExitReasonButRecurringDoes(t *testing.T) {
	a := minimalAgent()
	a.Monitor = func(context.Context, *Request) error { return Errorf(NotRunning, "domain is shut off") }
	probe := invoke(a, newTestWorld(), ActionMonitor, withEnv("OCF_RESKEY_CRM_meta_interval=0")...)
	if probe.code != int(NotRunning) {
		t.Fatalf("probe exit %d", probe.code)
	}
	probe.noExitReason(t)
	recurring := invoke(a, newTestWorld(), ActionMonitor, withEnv("OCF_RESKEY_CRM_meta_interval=10000")...)
	if recurring.code != int(NotRunning) || recurring.exitReason(t) != "domain is shut off" {
		t.Fatalf("recurring: exit %d reasons %q", recurring.code, recurring.exitReasons())
	}
}

func TestRequestAccessors(t *testing.T) {
	a := richAgent()
	a.Params = append(a.Params,
		Param{Name: "retries", Type: TypeInteger, ShortDesc: "no default"},
		Param{Name: "verbose", Type: TypeBoolean, ShortDesc: "no default"})
	var got []string
	a.Monitor = func(_ context.Context, req *Request) error {
		got = append(got,
			spaced(req.Action(), req.Instance(), req.Type(), req.IsProbe(), req.CheckLevel(), req.Interval(), req.Timeout()),
			spaced(req.String("config"), req.Int("migration_speed"), req.Bool("force_stop"), req.String("on_fail")),
			spaced(req.IsSet("config"), req.IsSet("ceph_key"), req.Int("retries"), req.Bool("verbose")),
			spaced(req.Meta("migrate-target"), "|", req.Meta("notify_type"), "|", req.Meta("absent")))
		return nil
	}
	r := invoke(a, newTestWorld(), ActionMonitor, "HA_LOGFACILITY=none",
		"OCF_RESOURCE_INSTANCE=vm1:0", "OCF_RESOURCE_TYPE=sample",
		"OCF_RESKEY_config=/etc/vm1.xml", "OCF_RESKEY_migration_speed= 100 ", "OCF_RESKEY_force_stop=On",
		"OCF_RESKEY_CRM_meta_interval=60000", "OCF_RESKEY_CRM_meta_timeout=45000", "OCF_CHECK_LEVEL=10",
		"OCF_RESKEY_CRM_meta_migrate_target=node2", "OCF_RESKEY_CRM_meta_notify_type=pre")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	want := []string{"monitor vm1:0 sample false 10 1m0s 45s", "/etc/vm1.xml 100 true restart",
		"true false 0 false", "node2 | pre | "}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("accessors:\n got %q\nwant %q", got, want)
	}
}

func TestRequestTypeDefaultsToAgentName(t *testing.T) {
	var typ string
	a := minimalAgent()
	a.Start = func(_ context.Context, req *Request) error { typ = req.Type(); return nil }
	invoke(a, newTestWorld(), ActionStart, baseEnv...)
	if typ != "minimal" {
		t.Errorf("type %q", typ)
	}
}

func TestMisuseOfAccessorsIsCaughtAsInternalError(t *testing.T) {
	for name, handler := range map[string]Handler{
		"undeclared": func(_ context.Context, req *Request) error { req.String("nope"); return nil },
		"wrong type": func(_ context.Context, req *Request) error { req.Int("enabled"); return nil },
		"bug":        func(context.Context, *Request) error { panic("index out of range") },
	} {
		a := minimalAgent()
		a.Start = handler
		r := invoke(a, newTestWorld(), ActionStart, baseEnv...)
		if r.code != int(ErrGeneric) || !strings.HasPrefix(r.exitReason(t), "internal error in start: ") {
			t.Errorf("%s: exit %d reasons %q", name, r.code, r.exitReasons())
		}
	}
}

func TestDeclarationErrorsBlockActionsButNotMetaData(t *testing.T) {
	a := minimalAgent()
	a.Params[0].Default = "three"
	r := invoke(a, newTestWorld(), ActionStart, baseEnv...)
	if r.code != int(ErrGeneric) || !strings.Contains(r.exitReason(t), "declared incorrectly") {
		t.Fatalf("exit %d reasons %q", r.code, r.exitReasons())
	}
	if r := invoke(a, newTestWorld(), ActionMetaData); r.code != 0 {
		t.Fatalf("meta-data exit %d", r.code)
	}
}

// A handler that ignores its context must not keep the process past the
// cluster's timeout: the runtime gives up and reports why.
func TestHangingHandlerIsAbandoned(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	a := minimalAgent()
	a.Start = func(context.Context, *Request) error { <-release; return nil }
	r := invoke(a, newTestWorld(), ActionStart, withEnv("OCF_RESKEY_CRM_meta_timeout=200")...)
	if r.code != int(ErrGeneric) {
		t.Fatalf("exit %d", r.code)
	}
	if reason := r.exitReason(t); !strings.Contains(reason, "start did not finish within its 200ms budget") {
		t.Errorf("reason %q", reason)
	}
}

func TestHangingValidateHookIsAbandoned(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	a := minimalAgent()
	a.Validate = func(context.Context, *Request) error { <-release; return nil }
	r := invoke(a, newTestWorld(), ActionValidateAll, withEnv("OCF_RESKEY_CRM_meta_timeout=100")...)
	if r.code != int(ErrGeneric) {
		t.Fatalf("exit %d", r.code)
	}
}

func TestHandlerHonouringDeadlineReportsTimeout(t *testing.T) {
	a := minimalAgent()
	a.Start = func(ctx context.Context, _ *Request) error {
		<-ctx.Done()
		return ctx.Err()
	}
	r := invoke(a, newTestWorld(), ActionStart, withEnv("OCF_RESKEY_CRM_meta_timeout=300")...)
	if r.code != int(ErrGeneric) {
		t.Fatalf("exit %d", r.code)
	}
	if reason := r.exitReason(t); !strings.HasPrefix(reason, "start ran out of time (budget 300ms)") {
		t.Errorf("reason %q", reason)
	}
}

func TestContextDeadlineFollowsMarginRule(t *testing.T) {
	a := minimalAgent()
	var remaining time.Duration
	a.Start = func(ctx context.Context, req *Request) error {
		d, ok := ctx.Deadline()
		if !ok {
			return errors.New("no deadline")
		}
		remaining = time.Until(d)
		return nil
	}
	// 60s budget: margin 6s, so the context ends about 54s from now.
	if r := invoke(a, newTestWorld(), ActionStart, withEnv("OCF_RESKEY_CRM_meta_timeout=60000")...); r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	if remaining > 54*time.Second || remaining < 50*time.Second {
		t.Errorf("context deadline %v away, want just under 54s", remaining)
	}
	// No timeout passed: the declared default (20s) minus the 2s minimum margin.
	if r := invoke(a, newTestWorld(), ActionStart, baseEnv...); r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	if remaining > 18*time.Second || remaining < 14*time.Second {
		t.Errorf("default deadline %v away, want just under 18s", remaining)
	}
}

func TestSecretsNeverReachExitReasonOrLogs(t *testing.T) {
	const secret = "AQBsuperSecretKey=="
	a := richAgent()
	a.Start = func(_ context.Context, req *Request) error {
		req.Log.Infof("connecting with key %s", req.String("ceph_key"))
		return fmt.Errorf("auth failed for key %s", req.String("ceph_key"))
	}
	world := newTestWorld()
	r := invoke(a, world, ActionStart, "OCF_RESKEY_config=/x", "OCF_RESKEY_ceph_key="+secret,
		"HA_debug=1", "HA_LOGFACILITY=daemon", "HA_LOGFILE=/log")
	if r.code != int(ErrGeneric) {
		t.Fatalf("exit %d", r.code)
	}
	everything := r.stderr + strings.Join(world.syslog.Lines(), "\n") + world.file("/log")
	if strings.Contains(everything, secret) {
		t.Fatalf("secret leaked:\n%s", everything)
	}
	if r.exitReason(t) != "auth failed for key ***" {
		t.Errorf("reason %q", r.exitReasons())
	}
	if !strings.Contains(r.stderr, "ceph_key=***") {
		t.Errorf("debug parameter dump missing or unmasked:\n%s", r.stderr)
	}

	// A secret that fails validation is not echoed either.
	a.Params[1].Secret = true
	r = invoke(a, world, ActionValidateAll, "OCF_RESKEY_config=/x", "OCF_RESKEY_migration_speed=hunter2")
	if strings.Contains(r.stderr, "hunter2") || !strings.Contains(r.stderr, "the value is not an integer") {
		t.Errorf("secret echoed in validation:\n%s", r.stderr)
	}
}

func TestEnvWarningsAreLogged(t *testing.T) {
	r := invoke(minimalAgent(), newTestWorld(), ActionStart, withEnv("OCF_CHECK_LEVEL=deep", "OCF_RESKEY_CRM_meta_timeout=-1")...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	for _, want := range []string{`WARNING: ignoring invalid OCF_CHECK_LEVEL "deep"`, `WARNING: ignoring invalid OCF_RESKEY_CRM_meta_timeout "-1"`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("missing %q in:\n%s", want, r.stderr)
		}
	}
}

func TestMainWithDefaultSystem(t *testing.T) {
	var stdout, stderr strings.Builder
	code := minimalAgent().Main([]string{"minimal", ActionValidateAll}, withEnv(), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

// spaced joins values with single spaces (fmt.Sprint omits them between strings).
func spaced(values ...any) string { return strings.TrimSuffix(fmt.Sprintln(values...), "\n") }
