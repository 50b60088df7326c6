package agentlog

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

// fakeSyslog records messages by severity; block, when not nil, makes every
// write wait for it to be closed.
type fakeSyslog struct {
	mu     sync.Mutex
	msgs   []string
	closed bool
	block  chan struct{}
	err    error
}

func (f *fakeSyslog) record(sev, msg string) error {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, sev+":"+msg)
	return f.err
}
func (f *fakeSyslog) Debug(m string) error   { return f.record("debug", m) }
func (f *fakeSyslog) Info(m string) error    { return f.record("info", m) }
func (f *fakeSyslog) Warning(m string) error { return f.record("warning", m) }
func (f *fakeSyslog) Err(m string) error     { return f.record("err", m) }
func (f *fakeSyslog) Close() error           { f.closed = true; return nil }

func (f *fakeSyslog) all() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.msgs, "|")
}

// countingDial returns a dial func that hands out w (and err) and counts calls.
func countingDial(w SyslogWriter, err error, calls *int) func() (SyslogWriter, error) {
	return func() (SyslogWriter, error) { *calls++; return w, err }
}

func TestSyslogSeveritiesAndLazyDial(t *testing.T) {
	f := &fakeSyslog{}
	calls := 0
	s := NewSyslog(countingDial(f, nil, &calls))
	if calls != 0 {
		t.Fatal("dialled before there was anything to send")
	}
	s.Write(Debug, "d")
	s.Write(Info, "i")
	s.Write(Warning, "w")
	s.Write(Error, "e\x00x")
	if got := f.all(); got != "debug:d|info:i|warning:w|err:e x" {
		t.Errorf("got %q", got)
	}
	if calls != 1 {
		t.Errorf("dialled %d times", calls)
	}
	if err := s.Close(); err != nil || !f.closed {
		t.Errorf("close: %v, closed %v", err, f.closed)
	}
}

// No syslog socket (containers, early boot) must cost nothing: no error, no
// retry per message.
func TestUnavailableSyslogIsHarmless(t *testing.T) {
	for _, c := range []struct {
		name string
		w    SyslogWriter
		err  error
	}{{"dial error", nil, errors.New("no /dev/log")}, {"nil writer", nil, nil}} {
		calls := 0
		s := NewSyslog(countingDial(c.w, c.err, &calls))
		s.Write(Error, "a")
		s.Write(Error, "b")
		if calls != 1 {
			t.Errorf("%s: dialled %d times", c.name, calls)
		}
		if err := s.Close(); err != nil {
			t.Errorf("%s: close: %v", c.name, err)
		}
	}
}

func TestSyslogGoesQuietAfterWriteError(t *testing.T) {
	f := &fakeSyslog{err: errors.New("EPIPE")}
	calls := 0
	s := NewSyslog(countingDial(f, nil, &calls))
	s.Write(Error, "a")
	s.Write(Error, "b")
	if got := f.all(); got != "err:a" || calls != 1 {
		t.Errorf("got %q after %d dials", got, calls)
	}
	if err := s.Close(); err != nil || !f.closed {
		t.Errorf("connection not closed: %v", err)
	}
}

func TestNilSyslogDiscards(t *testing.T) {
	var s *Syslog
	s.Write(Error, "x")
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}
