package fence

import (
	"fmt"
	"io"
	"log/syslog"
	"sort"
	"strings"
	"sync"
	"time"
)

// Level is a log severity.
type Level int

// Log levels.
const (
	LevelDebug Level = iota
	LevelInfo
	LevelWarning
	LevelError
)

func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "DEBUG"
	case LevelInfo:
		return "INFO"
	case LevelWarning:
		return "WARNING"
	}
	return "ERROR"
}

const redacted = "******"

// Logger writes to stderr, an optional debug file and an optional syslog
// sink. It is safe for concurrent use; after close it drops everything, so an
// action still running past its deadline cannot write after Main returned.
type Logger struct {
	mu      sync.Mutex
	stderr  io.Writer // nil when quiet
	file    io.Writer // debug file, every level
	sys     *syslogSink
	verbose bool
	secrets []string
	closed  bool
	now     func() time.Time
}

func newLogger(stderr io.Writer) *Logger {
	return &Logger{stderr: stderr, now: time.Now}
}

// addSecret makes every later message replace s with "******".
func (l *Logger) addSecret(s string) {
	if s == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.secrets = append(l.secrets, s)
	// Longest first, so a secret containing another is hidden whole.
	sort.Slice(l.secrets, func(i, j int) bool { return len(l.secrets[i]) > len(l.secrets[j]) })
}

// Debugf logs at debug level (shown with verbose, always in the debug file).
func (l *Logger) Debugf(format string, args ...any) { l.logf(LevelDebug, format, args...) }

// Infof logs at info level (shown with verbose, always in the debug file).
func (l *Logger) Infof(format string, args ...any) { l.logf(LevelInfo, format, args...) }

// Warnf logs a warning.
func (l *Logger) Warnf(format string, args ...any) { l.logf(LevelWarning, format, args...) }

// Errorf logs an error.
func (l *Logger) Errorf(format string, args ...any) { l.logf(LevelError, format, args...) }

func (l *Logger) logf(level Level, format string, args ...any) {
	if l == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	for _, s := range l.secrets {
		msg = strings.ReplaceAll(msg, s, redacted)
	}
	msg = strings.TrimRight(msg, "\n")
	line := l.now().Format("2006-01-02 15:04:05.000") + " " + level.String() + ": " + msg + "\n"
	shown := level >= LevelWarning || l.verbose
	if l.stderr != nil && shown {
		_, _ = io.WriteString(l.stderr, line)
	}
	if l.file != nil {
		_, _ = io.WriteString(l.file, line)
	}
	if l.sys != nil && shown {
		l.sys.send(level, msg)
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
		sys.close(250 * time.Millisecond)
	}
}

// syslogWriter is the part of *syslog.Writer the sink uses.
type syslogWriter interface {
	Debug(m string) error
	Info(m string) error
	Warning(m string) error
	Err(m string) error
	Close() error
}

// dialSyslog opens the local syslog with the agent name as tag.
func dialSyslog(tag string) (syslogWriter, error) {
	return syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, tag)
}

type syslogMsg struct {
	level Level
	msg   string
}

// syslogSink forwards messages to syslog from its own goroutine. Sending
// never blocks: when the queue is full the message is dropped. Dial or write
// errors silently disable the sink.
type syslogSink struct {
	ch   chan syslogMsg
	done chan struct{}
}

func newSyslogSink(tag string, dial func(string) (syslogWriter, error)) *syslogSink {
	s := &syslogSink{ch: make(chan syslogMsg, 128), done: make(chan struct{})}
	go s.loop(tag, dial)
	return s
}

func (s *syslogSink) loop(tag string, dial func(string) (syslogWriter, error)) {
	defer close(s.done)
	w, err := dial(tag)
	if err != nil || w == nil {
		for range s.ch {
		}
		return
	}
	defer func() { _ = w.Close() }()
	broken := false
	for m := range s.ch {
		if broken {
			continue
		}
		msg := strings.ReplaceAll(m.msg, "\x00", " ")
		var err error
		switch m.level {
		case LevelDebug:
			err = w.Debug(msg)
		case LevelInfo:
			err = w.Info(msg)
		case LevelWarning:
			err = w.Warning(msg)
		default:
			err = w.Err(msg)
		}
		broken = err != nil
	}
}

func (s *syslogSink) send(level Level, msg string) {
	select {
	case s.ch <- syslogMsg{level, msg}:
	default:
	}
}

// close ends the queue and waits at most d for it to drain.
func (s *syslogSink) close(d time.Duration) {
	close(s.ch)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
	}
}
