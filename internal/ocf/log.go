package ocf

import (
	"fmt"
	"io"
	"log/syslog"
	"os"
	"sync"
	"time"
)

// Level is a log severity, named as ocf_log prints it.
type Level int

const (
	LevelDebug Level = iota
	LevelInfo
	LevelWarn
	LevelError
)

func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "DEBUG"
	case LevelInfo:
		return "INFO"
	case LevelWarn:
		return "WARNING"
	}
	return "ERROR"
}

// logQueueSize bounds the messages waiting for the writer. An agent that
// logs faster than syslog accepts loses messages instead of stalling.
const logQueueSize = 1024

// logFileDateFormat mirrors ocf-shellfuncs' default HA_DATEFMT ("%b %d %T").
const logFileDateFormat = "Jan 02 15:04:05"

// Logger writes messages the way ocf-shellfuncs' ocf_log does:
//
//   - stderr, always, as "<type>(<instance>)[<pid>]: <LEVEL>: <message>"
//     (or "<HA_LOGTAG>: ..."); Pacemaker's executor logs agent stderr;
//   - syslog when HA_LOGFACILITY names a facility (see syslogFacility);
//   - HA_LOGFILE for non-debug messages, HA_DEBUGLOG for all messages.
//
// Debug messages are dropped unless HA_debug or OCF_TRACE_RA is set.
// Messages are flattened to one line, copies of the exit-reason marker are
// altered, and secret parameter values are replaced by "***".
//
// Writing happens on a separate goroutine behind a bounded queue, so a hung
// syslog socket or NFS log file can delay or lose messages but never block or
// fail the action. A nil *Logger discards everything, which keeps agent
// helpers easy to unit-test.
type Logger struct {
	debug   bool
	secrets []string

	mu      sync.Mutex // guards closed, dropped and sends on queue
	closed  bool
	dropped int
	queue   chan logRecord
	done    chan struct{}

	sinks *logSinks
}

type logRecord struct {
	level Level
	msg   string
	at    time.Time
	// quietOnStderr marks a copy of the exit reason, which is already on
	// stderr in Pacemaker's format (ocf_exit_reason does the same).
	quietOnStderr bool
}

// loggerConfig is everything newLogger needs, resolved from Env and system.
type loggerConfig struct {
	stderr     io.Writer
	stderrMu   *sync.Mutex // shared with the exit-reason writer
	stderrTag  string
	fileTag    string
	debug      bool
	secrets    []string
	syslogOn   bool
	facility   syslog.Priority
	syslogTag  string
	dialSyslog func(syslog.Priority, string) (syslogWriter, error)
	logFile    string
	debugLog   string
	openFile   func(path string) (io.WriteCloser, error)
	now        func() time.Time
}

func newLogger(cfg loggerConfig) *Logger {
	l := &Logger{
		debug:   cfg.debug,
		secrets: cfg.secrets,
		queue:   make(chan logRecord, logQueueSize),
		done:    make(chan struct{}),
		sinks: &logSinks{
			cfg:   cfg,
			files: map[string]io.WriteCloser{},
			dead:  map[string]bool{},
		},
	}
	go l.writeLoop()
	return l
}

// Debugf logs at debug level; it is a no-op unless debugging is enabled.
func (l *Logger) Debugf(format string, args ...any) { l.logf(LevelDebug, format, args...) }

// Infof logs at info level.
func (l *Logger) Infof(format string, args ...any) { l.logf(LevelInfo, format, args...) }

// Warnf logs at warning level.
func (l *Logger) Warnf(format string, args ...any) { l.logf(LevelWarn, format, args...) }

// Errorf logs at error level. It does not set the exit reason; return an
// error from the handler for that.
func (l *Logger) Errorf(format string, args ...any) { l.logf(LevelError, format, args...) }

// DebugEnabled reports whether debug messages are written, so callers can
// skip expensive formatting.
func (l *Logger) DebugEnabled() bool { return l != nil && l.debug }

func (l *Logger) logf(level Level, format string, args ...any) {
	if l == nil || (level == LevelDebug && !l.debug) {
		return
	}
	l.enqueue(logRecord{level: level, msg: fmt.Sprintf(format, args...)})
}

func (l *Logger) enqueue(rec logRecord) {
	if l == nil {
		return
	}
	rec.msg = defangExitReasonMarker(flattenLine(redactSecrets(rec.msg, l.secrets)))
	rec.at = l.sinks.cfg.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return // a handler abandoned after its deadline is still talking
	}
	select {
	case l.queue <- rec:
	default:
		l.dropped++
	}
}

// close stops accepting messages and waits up to wait for the queue to drain.
// It reports whether everything was written.
func (l *Logger) close(wait time.Duration) bool {
	l.mu.Lock()
	if !l.closed {
		if l.dropped > 0 {
			select {
			case l.queue <- logRecord{level: LevelWarn, at: l.sinks.cfg.now(),
				msg: fmt.Sprintf("%d log messages were dropped because logging could not keep up", l.dropped)}:
			default:
			}
		}
		l.closed = true
		close(l.queue)
	}
	l.mu.Unlock()

	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-l.done:
		return true
	case <-timer.C:
		return false
	}
}

func (l *Logger) writeLoop() {
	defer close(l.done)
	for rec := range l.queue {
		l.sinks.write(rec)
	}
	l.sinks.closeAll()
}

// logSinks is owned by the writer goroutine; nothing else touches it except
// the shared stderr mutex.
type logSinks struct {
	cfg        loggerConfig
	syslog     syslogWriter
	syslogDead bool
	files      map[string]io.WriteCloser
	dead       map[string]bool
}

func (s *logSinks) write(rec logRecord) {
	line := rec.level.String() + ": " + rec.msg
	if !rec.quietOnStderr {
		s.cfg.stderrMu.Lock()
		_, _ = io.WriteString(s.cfg.stderr, s.cfg.stderrTag+": "+line+"\n")
		s.cfg.stderrMu.Unlock()
	}
	s.writeSyslog(rec.level, line)

	fileLine := rec.at.Format(logFileDateFormat) + " " + s.cfg.fileTag + ": " + line + "\n"
	if rec.level != LevelDebug && s.cfg.logFile != "" {
		s.writeFile(s.cfg.logFile, fileLine)
	}
	if s.cfg.debugLog != "" && (rec.level == LevelDebug || s.cfg.debugLog != s.cfg.logFile) {
		s.writeFile(s.cfg.debugLog, fileLine)
	}
}

func (s *logSinks) writeSyslog(level Level, line string) {
	if !s.cfg.syslogOn || s.syslogDead {
		return
	}
	if s.syslog == nil {
		w, err := s.cfg.dialSyslog(s.cfg.facility, s.cfg.syslogTag)
		if err != nil {
			// No syslog socket (containers, early boot): stderr still has it.
			s.syslogDead = true
			return
		}
		s.syslog = w
	}
	var err error
	switch level {
	case LevelDebug:
		err = s.syslog.Debug(line)
	case LevelInfo:
		err = s.syslog.Info(line)
	case LevelWarn:
		err = s.syslog.Warning(line)
	default:
		err = s.syslog.Err(line)
	}
	if err != nil {
		s.syslogDead = true
	}
}

func (s *logSinks) writeFile(path, line string) {
	if s.dead[path] {
		return
	}
	f := s.files[path]
	if f == nil {
		var err error
		if f, err = s.cfg.openFile(path); err != nil {
			s.dead[path] = true
			return
		}
		s.files[path] = f
	}
	if _, err := io.WriteString(f, line); err != nil {
		s.dead[path] = true
	}
}

func (s *logSinks) closeAll() {
	for _, f := range s.files {
		_ = f.Close()
	}
	if s.syslog != nil {
		_ = s.syslog.Close()
	}
}

// openLogFile appends to a log file, creating it readable by the admin group.
func openLogFile(path string) (io.WriteCloser, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
}
