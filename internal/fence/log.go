package fence

import (
	"fmt"
	"io"
	"log/syslog"
	"strings"
	"sync"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

const redacted = "******"

// syslogQueueSize bounds the messages waiting for syslog; more are dropped.
const syslogQueueSize = 128

// syslogFlushWait bounds how long close waits for queued syslog messages.
const syslogFlushWait = 250 * time.Millisecond

// Logger writes to stderr, an optional debug file and an optional syslog
// sink. It is safe for concurrent use; after close it drops everything, so an
// action still running past its deadline cannot write after Main returned.
type Logger struct {
	mu      sync.Mutex
	stderr  io.Writer // nil when quiet
	file    io.Writer // debug file, every level
	sys     *agentlog.Queue[syslogMsg]
	verbose bool
	redact  agentlog.Redactor
	closed  bool
	now     func() time.Time
}

func newLogger(stderr io.Writer) *Logger {
	return &Logger{stderr: stderr, now: time.Now, redact: agentlog.NewRedactor(redacted)}
}

// addSecret makes every later message replace s with "******".
func (l *Logger) addSecret(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.redact = l.redact.With(s)
}

// Debugf logs at debug level (shown with verbose, always in the debug file).
func (l *Logger) Debugf(format string, args ...any) { l.logf(agentlog.Debug, format, args...) }

// Infof logs at info level (shown with verbose, always in the debug file).
func (l *Logger) Infof(format string, args ...any) { l.logf(agentlog.Info, format, args...) }

// Warnf logs a warning.
func (l *Logger) Warnf(format string, args ...any) { l.logf(agentlog.Warning, format, args...) }

// Errorf logs an error.
func (l *Logger) Errorf(format string, args ...any) { l.logf(agentlog.Error, format, args...) }

func (l *Logger) logf(level agentlog.Level, format string, args ...any) {
	if l == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	msg = agentlog.Line(strings.TrimRight(l.redact.Redact(msg), "\n"))
	line := l.now().Format("2006-01-02 15:04:05.000") + " " + level.String() + ": " + msg + "\n"
	shown := level >= agentlog.Warning || l.verbose
	if l.stderr != nil && shown {
		_, _ = io.WriteString(l.stderr, line)
	}
	if l.file != nil {
		_, _ = io.WriteString(l.file, line)
	}
	if l.sys != nil && shown {
		l.sys.Send(syslogMsg{level, msg}) // drops when syslog is behind
	}
}

// close stops all output and waits briefly for syslog to drain.
func (l *Logger) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	sys := l.sys
	if c, ok := l.file.(io.Closer); ok {
		_ = c.Close()
	}
	l.mu.Unlock()
	if sys != nil {
		sys.Close(syslogFlushWait, nil)
	}
}

// dialSyslog opens the local syslog with the agent name as tag.
func dialSyslog(tag string) (agentlog.SyslogWriter, error) {
	return agentlog.DialSyslog(syslog.LOG_DAEMON, tag)
}

type syslogMsg struct {
	level agentlog.Level
	msg   string
}

// newSyslogSink forwards messages to syslog from its own goroutine, so logf
// (which writes stderr and the debug file inline) never waits for syslog.
// Sending never blocks: when the queue is full the message is dropped. Dial or
// write errors silently disable the sink.
func newSyslogSink(tag string, dial func(string) (agentlog.SyslogWriter, error)) *agentlog.Queue[syslogMsg] {
	sink := agentlog.NewSyslog(func() (agentlog.SyslogWriter, error) { return dial(tag) })
	write := func(m syslogMsg) { sink.Write(m.level, m.msg) }
	return agentlog.NewQueue(syslogQueueSize, write, func() { _ = sink.Close() })
}
