package fence

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

type fakeSyslog struct {
	mu    sync.Mutex
	msgs  []string
	block chan struct{} // if non-nil, every write waits on it
	err   error
}

func (f *fakeSyslog) w(prefix, m string) error {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, prefix+m)
	return f.err
}
func (f *fakeSyslog) Debug(m string) error   { return f.w("debug:", m) }
func (f *fakeSyslog) Info(m string) error    { return f.w("info:", m) }
func (f *fakeSyslog) Warning(m string) error { return f.w("warning:", m) }
func (f *fakeSyslog) Err(m string) error     { return f.w("err:", m) }
func (f *fakeSyslog) Close() error           { return nil }

func (f *fakeSyslog) all() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.msgs, "\n")
}

func runWithSyslog(a *Agent, sl *fakeSyslog, dialErr error, stdin string) (int, string) {
	var out, errb bytes.Buffer
	code := a.run(context.Background(), nil, strings.NewReader(stdin), &out, &errb, runConfig{
		grace:  100 * time.Millisecond,
		syslog: func(tag string) (agentlog.SyslogWriter, error) { return sl, dialErr },
	})
	return code, errb.String()
}

func TestSyslogReceivesWarningsAndErrors(t *testing.T) {
	sl := &fakeSyslog{}
	a := richAgent(newFakeDevice())
	code, _ := runWithSyslog(a, sl, nil, "action=status\nip=sw\nplug=nope\npassword=s3cret\n")
	if code != 1 {
		t.Fatal(code)
	}
	got := sl.all()
	if !strings.Contains(got, "err:Failed: cannot get the status") || strings.Contains(got, "debug:") {
		t.Errorf("syslog got:\n%s", got)
	}
	sl = &fakeSyslog{}
	runWithSyslog(a, sl, nil, "action=status\nip=sw\nplug=vm1\nverbose=1\npassword=s3cret\n")
	if got := sl.all(); !strings.Contains(got, "debug:options:") || strings.Contains(got, "s3cret") {
		t.Errorf("verbose syslog:\n%s", got)
	}
}

func TestSyslogNeverBlocksOrFails(t *testing.T) {
	a := richAgent(newFakeDevice())
	// A syslog that hangs on every write.
	sl := &fakeSyslog{block: make(chan struct{})}
	defer close(sl.block)
	start := time.Now()
	code, _ := runWithSyslog(a, sl, nil, "action=status\nip=sw\nplug=vm1\nverbose=1\n")
	if code != 0 || time.Since(start) > 2*time.Second {
		t.Errorf("blocked syslog: code %d after %s", code, time.Since(start))
	}
	// A syslog that cannot be reached, or fails on write.
	if code, _ := runWithSyslog(a, &fakeSyslog{}, errors.New("no /dev/log"), "action=status\nip=sw\nplug=vm1\n"); code != 0 {
		t.Errorf("dial failure changed the result: %d", code)
	}
	if code, _ := runWithSyslog(a, &fakeSyslog{err: errors.New("EPIPE")}, nil, "action=status\nip=sw\nplug=vm2\nverbose=1\n"); code != 2 {
		t.Errorf("write failure changed the result: %d", code)
	}
}

func TestLoggerAfterClose(t *testing.T) {
	var b bytes.Buffer
	l := newLogger(&b)
	l.Errorf("before")
	l.close()
	l.Errorf("after")
	l.close()
	if !strings.Contains(b.String(), "before") || strings.Contains(b.String(), "after") {
		t.Errorf("%q", b.String())
	}
	var nl *Logger
	nl.Errorf("nil logger is a no-op")
}

func TestLoggerRedactsLongestFirst(t *testing.T) {
	var b bytes.Buffer
	l := newLogger(&b)
	l.addSecret("abc")
	l.addSecret("abcdef")
	l.addSecret("")
	l.Warnf("x abcdef y abc z")
	if !strings.Contains(b.String(), "x ****** y ****** z") {
		t.Errorf("%q", b.String())
	}
}

func TestLevelString(t *testing.T) {
	if agentlog.Debug.String() != "DEBUG" || agentlog.Info.String() != "INFO" || agentlog.Warning.String() != "WARNING" || agentlog.Error.String() != "ERROR" {
		t.Error("level names")
	}
	if String.String() != "string" || Type(42).String() != "Type(42)" || PowerUnknown.String() != "unknown" {
		t.Error("type names")
	}
}
