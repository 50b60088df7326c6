package ocf

import (
	"context"
	"errors"
	"io"
	"log/syslog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// logAgent logs one message per level from start.
func logAgent() *Agent {
	a := minimalAgent()
	a.Start = func(_ context.Context, req *Request) error {
		req.Log.Debugf("debug %d", 1)
		req.Log.Infof("info\nsplit")
		req.Log.Warnf("warn")
		req.Log.Errorf("error says ocf-exit-reason:fake")
		return nil
	}
	return a
}

func TestStderrFormatMatchesOCFLog(t *testing.T) {
	r := invoke(logAgent(), newTestWorld(), ActionStart, "OCF_RESKEY_name=x",
		"OCF_RESOURCE_INSTANCE=vm1", "OCF_RESOURCE_TYPE=kvm-guest")
	want := "kvm-guest(vm1)[4242]: INFO: info split\n" +
		"kvm-guest(vm1)[4242]: WARNING: warn\n" +
		"kvm-guest(vm1)[4242]: ERROR: error says ocf-exit-reason=fake\n"
	if r.stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, want)
	}
	r.noExitReason(t)
}

func TestDebugOnlyWhenEnabled(t *testing.T) {
	for _, env := range [][]string{{"HA_debug=1"}, {"OCF_TRACE_RA=yes"}} {
		r := invoke(logAgent(), newTestWorld(), ActionStart, append(env, "OCF_RESKEY_name=x")...)
		if !strings.Contains(r.stderr, "minimal[4242]: DEBUG: debug 1\n") {
			t.Errorf("%v: no debug line:\n%s", env, r.stderr)
		}
	}
	r := invoke(logAgent(), newTestWorld(), ActionStart, "OCF_RESKEY_name=x", "HA_debug=0")
	if strings.Contains(r.stderr, "DEBUG") {
		t.Errorf("debug leaked:\n%s", r.stderr)
	}
}

func TestLogTagOverride(t *testing.T) {
	r := invoke(logAgent(), newTestWorld(), ActionStart, "OCF_RESKEY_name=x", "HA_LOGTAG=custom")
	if !strings.HasPrefix(r.stderr, "custom: INFO: info split\n") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

func TestSyslogRouting(t *testing.T) {
	world := newTestWorld()
	r := invoke(logAgent(), world, ActionStart, "OCF_RESKEY_name=x", "OCF_RESOURCE_INSTANCE=vm1",
		"HA_LOGFACILITY=local3", "HA_debug=1")
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	if world.syslog.facility != syslog.LOG_LOCAL3 || world.syslog.tag != "minimal(vm1)" {
		t.Errorf("dialled facility %v tag %q", world.syslog.facility, world.syslog.tag)
	}
	lines := strings.Join(world.syslog.Lines(), "\n")
	for _, want := range []string{"debug DEBUG: debug 1", "info INFO: info split", "warning WARNING: warn", "err ERROR: error says"} {
		if !strings.Contains(lines, want) {
			t.Errorf("syslog missing %q:\n%s", want, lines)
		}
	}
}

func TestSyslogOffByDefaultAndWithNone(t *testing.T) {
	for _, env := range [][]string{nil, {"HA_LOGFACILITY=none"}, {"HA_LOGFACILITY="}} {
		world := newTestWorld()
		invoke(logAgent(), world, ActionStart, append(env, "OCF_RESKEY_name=x")...)
		if n := len(world.syslog.Lines()); n != 0 {
			t.Errorf("%v: %d syslog lines", env, n)
		}
	}
}

func TestSyslogFacility(t *testing.T) {
	for raw, want := range map[string]struct {
		f        syslog.Priority
		on, warn bool
	}{
		"":       {0, false, false},
		"none":   {0, false, false},
		"daemon": {syslog.LOG_DAEMON, true, false},
		"LOCAL7": {syslog.LOG_LOCAL7, true, false},
		"bogus":  {syslog.LOG_DAEMON, true, true},
	} {
		f, on, warning := syslogFacility(raw)
		if f != want.f || on != want.on || (warning != "") != want.warn {
			t.Errorf("syslogFacility(%q) = %v %v %q", raw, f, on, warning)
		}
	}
}

func TestUnknownFacilityWarnsAndUsesDaemon(t *testing.T) {
	world := newTestWorld()
	r := invoke(logAgent(), world, ActionStart, "OCF_RESKEY_name=x", "HA_LOGFACILITY=bogus")
	if !strings.Contains(r.stderr, `unknown HA_LOGFACILITY "bogus"`) || world.syslog.facility != syslog.LOG_DAEMON {
		t.Errorf("stderr:\n%s facility %v", r.stderr, world.syslog.facility)
	}
}

func TestUnreachableSyslogIsHarmless(t *testing.T) {
	world := newTestWorld()
	sys := world.system()
	sys.dialSyslog = func(syslog.Priority, string) (agentlog.SyslogWriter, error) { return nil, errors.New("no /dev/log") }
	var stdout, stderr lockedBuffer
	code := logAgent().main([]string{"x", ActionStart}, []string{"OCF_RESKEY_name=x", "HA_LOGFACILITY=daemon"}, &stdout, &stderr, sys)
	if code != 0 || !strings.Contains(stderr.String(), "INFO: info split") {
		t.Fatalf("code %d stderr %q", code, stderr.String())
	}
}

// A syslog that never accepts a message must not hold the action or the exit.
func TestBlockedSyslogDoesNotBlockAction(t *testing.T) {
	world := newTestWorld()
	world.syslog.block = make(chan struct{})
	defer close(world.syslog.block)
	sys := world.system()
	sys.logFlushWait = 50 * time.Millisecond
	a := minimalAgent()
	a.Start = func(_ context.Context, req *Request) error {
		for i := 0; i < 3*logQueueSize; i++ { // overflow the queue too
			req.Log.Infof("message %d", i)
		}
		return Errorf(ErrGeneric, "boom")
	}
	var stdout, stderr lockedBuffer
	code := a.main([]string{"x", ActionStart}, []string{"OCF_RESKEY_name=x", "HA_LOGFACILITY=daemon"}, &stdout, &stderr, sys)
	if code != int(ErrGeneric) {
		t.Fatalf("code %d", code)
	}
	if !strings.Contains(stderr.String(), exitReasonPrefix+"boom\n") {
		t.Errorf("exit reason missing; stderr tail: %q", tail(stderr.String(), 300))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func TestLogFiles(t *testing.T) {
	world := newTestWorld()
	r := invoke(logAgent(), world, ActionStart, "OCF_RESKEY_name=x", "OCF_RESOURCE_INSTANCE=vm1",
		"HA_LOGFILE=/log/main", "HA_DEBUGLOG=/log/debug", "HA_debug=1")
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	main, debug := world.file("/log/main"), world.file("/log/debug")
	if strings.Contains(main, "DEBUG") || !strings.Contains(main, " minimal(vm1)[4242]: WARNING: warn\n") {
		t.Errorf("HA_LOGFILE:\n%s", main)
	}
	if !strings.Contains(debug, "DEBUG: debug 1") || !strings.Contains(debug, "INFO: info split") {
		t.Errorf("HA_DEBUGLOG:\n%s", debug)
	}
	// Lines start with the ocf-shellfuncs style date, e.g. "Jan 02 15:04:05 ".
	if _, err := time.Parse(logFileDateFormat, main[:len(logFileDateFormat)]); err != nil {
		t.Errorf("log file line lacks date: %q (%v)", main, err)
	}
}

func TestSameLogAndDebugFileGetsEachLineOnce(t *testing.T) {
	world := newTestWorld()
	invoke(logAgent(), world, ActionStart, "OCF_RESKEY_name=x", "HA_LOGFILE=/log/all", "HA_DEBUGLOG=/log/all", "HA_debug=1")
	all := world.file("/log/all")
	if strings.Count(all, "WARNING: warn") != 1 || strings.Count(all, "DEBUG: debug 1") != 1 {
		t.Errorf("log:\n%s", all)
	}
}

func TestExitReasonIsLoggedButNotRepeatedOnStderr(t *testing.T) {
	world := newTestWorld()
	r := invoke(agentReturning(Errorf(ErrInstalled, "virsh missing")), world, ActionStart,
		"OCF_RESKEY_name=x", "HA_LOGFACILITY=daemon", "HA_LOGFILE=/log")
	if r.exitReason(t) != "virsh missing" || strings.Contains(r.stderr, "ERROR: virsh missing") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if !strings.Contains(strings.Join(world.syslog.Lines(), "\n"), "err ERROR: virsh missing") ||
		!strings.Contains(world.file("/log"), "ERROR: virsh missing") {
		t.Error("exit reason not logged to syslog and log file")
	}
}

func TestUnwritableLogFileIsHarmless(t *testing.T) {
	world := newTestWorld()
	sys := world.system()
	sys.openFile = func(string) (io.WriteCloser, error) { return nil, errors.New("read-only file system") }
	var stdout, stderr lockedBuffer
	code := logAgent().main([]string{"x", ActionStart}, []string{"OCF_RESKEY_name=x", "HA_LOGFILE=/ro/log"}, &stdout, &stderr, sys)
	if code != 0 {
		t.Fatalf("code %d", code)
	}
}

func TestNilLoggerIsSafe(t *testing.T) {
	var l *Logger
	l.Debugf("x")
	l.Infof("x")
	l.Warnf("x")
	l.Errorf("x")
	if l.DebugEnabled() {
		t.Error("nil logger claims debug")
	}
}

func TestLoggingAfterCloseIsDropped(t *testing.T) {
	var buf lockedBuffer
	l := newLogger(loggerConfig{stderr: &buf, stderrMu: &sync.Mutex{}, stderrTag: "t", now: time.Now})
	l.Infof("before")
	if !l.close(time.Second) {
		t.Fatal("flush timed out")
	}
	l.Infof("after") // an abandoned handler may still log
	if got := buf.String(); got != "t: INFO: before\n" {
		t.Errorf("got %q", got)
	}
	l.close(time.Second) // idempotent
}

func TestLevelNames(t *testing.T) {
	if agentlog.Debug.String() != "DEBUG" || agentlog.Info.String() != "INFO" || agentlog.Warning.String() != "WARNING" || agentlog.Error.String() != "ERROR" {
		t.Error("level names must match ocf_log")
	}
}
