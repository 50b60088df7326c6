package ocf

import (
	"bytes"
	"context"
	"io"
	"log/syslog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// lockedBuffer is a bytes.Buffer safe for the logger goroutine and the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fakeSyslog records messages by severity; block, when non-nil, makes every
// write wait for it to be closed.
type fakeSyslog struct {
	mu       sync.Mutex
	facility syslog.Priority
	tag      string
	lines    []string
	block    chan struct{}
}

func (f *fakeSyslog) record(sev, msg string) error {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lines = append(f.lines, sev+" "+msg)
	return nil
}
func (f *fakeSyslog) Debug(m string) error   { return f.record("debug", m) }
func (f *fakeSyslog) Info(m string) error    { return f.record("info", m) }
func (f *fakeSyslog) Warning(m string) error { return f.record("warning", m) }
func (f *fakeSyslog) Err(m string) error     { return f.record("err", m) }
func (f *fakeSyslog) Close() error           { return nil }

func (f *fakeSyslog) Lines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...)
}

// memFile is an in-memory log file.
type memFile struct{ lockedBuffer }

func (*memFile) Close() error { return nil }

// testWorld is the fake outside world for one invocation.
type testWorld struct {
	syslog *fakeSyslog
	files  map[string]*memFile
	mu     sync.Mutex
}

func newTestWorld() *testWorld {
	return &testWorld{syslog: &fakeSyslog{}, files: map[string]*memFile{}}
}

func (w *testWorld) system() system {
	return system{
		pid: 4242,
		now: time.Now,
		dialSyslog: func(f syslog.Priority, tag string) (agentlog.SyslogWriter, error) {
			w.syslog.mu.Lock()
			w.syslog.facility, w.syslog.tag = f, tag
			w.syslog.mu.Unlock()
			return w.syslog, nil
		},
		openFile: func(path string) (io.WriteCloser, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			if w.files[path] == nil {
				w.files[path] = &memFile{}
			}
			return w.files[path], nil
		},
		logFlushWait: 5 * time.Second,
	}
}

func (w *testWorld) file(path string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f := w.files[path]; f != nil {
		return f.String()
	}
	return ""
}

// result is one finished invocation.
type result struct {
	code   int
	stdout string
	stderr string
}

// exitReasons returns every ocf-exit-reason line on stderr.
func (r result) exitReasons() []string {
	var out []string
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.Contains(line, exitReasonPrefix) {
			out = append(out, line)
		}
	}
	return out
}

// exitReason returns the single exit reason, failing the test unless there
// is exactly one.
func (r result) exitReason(t *testing.T) string {
	t.Helper()
	reasons := r.exitReasons()
	if len(reasons) != 1 {
		t.Fatalf("want exactly one exit reason line, got %d; stderr:\n%s", len(reasons), r.stderr)
	}
	if !strings.HasPrefix(reasons[0], exitReasonPrefix) {
		t.Fatalf("exit reason marker not at start of line: %q", reasons[0])
	}
	return strings.TrimPrefix(reasons[0], exitReasonPrefix)
}

func (r result) noExitReason(t *testing.T) {
	t.Helper()
	if reasons := r.exitReasons(); len(reasons) != 0 {
		t.Fatalf("want no exit reason, got %q; stderr:\n%s", reasons, r.stderr)
	}
}

// invoke runs the agent in-process with a fake world.
func invoke(a *Agent, world *testWorld, action string, env ...string) result {
	var stdout, stderr lockedBuffer
	args := []string{"/usr/lib/ocf/resource.d/kvmha/" + a.Name}
	if action != "" {
		args = append(args, action)
	}
	code := a.main(args, env, &stdout, &stderr, world.system())
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// succeed is a handler that does nothing.
func succeed(context.Context, *Request) error { return nil }

// minimalAgent implements only what OCF requires.
func minimalAgent() *Agent {
	return &Agent{
		Name:      "minimal",
		ShortDesc: "Minimal test agent",
		Params: []Param{
			{Name: "count", Type: TypeInteger, Default: "3", ShortDesc: "A count"},
			{Name: "enabled", Type: TypeBoolean, Default: "false", ShortDesc: "A switch"},
			{Name: "name", Type: TypeString, Required: true, ShortDesc: "A name"},
		},
		Start:   succeed,
		Stop:    succeed,
		Monitor: succeed,
	}
}

// richAgent exercises every meta-data feature; its output is the golden file.
func richAgent() *Agent {
	return &Agent{
		Name:      "sample-guest",
		Version:   "0.9.1",
		ShortDesc: "Manages a sample KVM guest",
		LongDesc: "Starts, stops and monitors a sample guest.\n" +
			"Descriptions may contain markup-like text: <disk> & \"quotes\".",
		Params: []Param{
			{Name: "config", Type: TypeString, Required: true, Unique: true,
				ShortDesc: "Domain XML path", LongDesc: "Absolute path of the libvirt domain XML."},
			{Name: "migration_speed", Type: TypeInteger, Default: "0",
				ShortDesc: "Migration bandwidth (MiB/s)", LongDesc: "0 means unlimited."},
			{Name: "force_stop", Type: TypeBoolean, Default: "false",
				ShortDesc: "Destroy instead of shutdown"},
			{Name: "on_fail", Type: TypeString, Default: "restart", Choices: []string{"restart", "ignore"},
				ShortDesc: "What to do | when it fails", LongDesc: "Policy."},
			{Name: "ceph_key", Type: TypeString, Secret: true,
				ShortDesc: "Ceph key", LongDesc: "Key for the RBD pool."},
		},
		Start:       succeed,
		Stop:        succeed,
		Monitor:     succeed,
		Promote:     succeed,
		Demote:      succeed,
		Notify:      succeed,
		MigrateTo:   succeed,
		MigrateFrom: succeed,
		Reload:      succeed,
		ReloadAgent: succeed,
		Validate:    succeed,
		Timeouts: map[string]time.Duration{
			ActionStart: 90 * time.Second, ActionStop: 120 * time.Second,
			ActionMigrateTo: 300 * time.Second, ActionMonitor: 30 * time.Second,
		},
		Monitors: []MonitorOp{
			{Interval: 10 * time.Second},
			{Interval: 60 * time.Second, Depth: 10, Timeout: 45 * time.Second},
			{Interval: 9 * time.Second, Role: "Promoted"},
		},
	}
}
