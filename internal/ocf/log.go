package ocf

import (
	"fmt"
	"io"
	"log/syslog"
	"os"
	"sync"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

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
	debug  bool
	redact agentlog.Redactor
	now    func() time.Time
	queue  *agentlog.Queue[logRecord]
}

type logRecord struct {
	level agentlog.Level
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
	redact     agentlog.Redactor
	syslogOn   bool
	facility   syslog.Priority
	syslogTag  string
	dialSyslog func(syslog.Priority, string) (agentlog.SyslogWriter, error)
	logFile    string
	debugLog   string
	openFile   func(path string) (io.WriteCloser, error)
	now        func() time.Time
}

func newLogger(cfg loggerConfig) *Logger {
	sinks := &logSinks{cfg: cfg, files: map[string]io.WriteCloser{}, dead: map[string]bool{}}
	if cfg.syslogOn {
		sinks.syslog = agentlog.NewSyslog(func() (agentlog.SyslogWriter, error) {
			return cfg.dialSyslog(cfg.facility, cfg.syslogTag)
		})
	}
	return &Logger{
		debug:  cfg.debug,
		redact: cfg.redact,
		now:    cfg.now,
		queue:  agentlog.NewQueue(logQueueSize, sinks.write, sinks.closeAll),
	}
}

// Debugf logs at debug level; it is a no-op unless debugging is enabled.
func (l *Logger) Debugf(format string, args ...any) { l.logf(agentlog.Debug, format, args...) }

// Infof logs at info level.
func (l *Logger) Infof(format string, args ...any) { l.logf(agentlog.Info, format, args...) }

// Warnf logs at warning level.
func (l *Logger) Warnf(format string, args ...any) { l.logf(agentlog.Warning, format, args...) }

// Errorf logs at error level. It does not set the exit reason; return an
// error from the handler for that.
func (l *Logger) Errorf(format string, args ...any) { l.logf(agentlog.Error, format, args...) }

// DebugEnabled reports whether debug messages are written, so callers can
// skip expensive formatting.
func (l *Logger) DebugEnabled() bool { return l != nil && l.debug }

func (l *Logger) logf(level agentlog.Level, format string, args ...any) {
	if l == nil || (level == agentlog.Debug && !l.debug) {
		return
	}
	l.enqueue(logRecord{level: level, msg: fmt.Sprintf(format, args...)})
}

func (l *Logger) enqueue(rec logRecord) {
	if l == nil {
		return
	}
	rec.msg = defangExitReasonMarker(flattenLine(agentlog.Line(l.redact.Redact(rec.msg))))
	rec.at = l.now()
	l.queue.Send(rec) // a full queue drops; a closed one means an abandoned handler is still talking
}

// close stops accepting messages and waits up to wait for the queue to drain.
// It reports whether everything was written.
func (l *Logger) close(wait time.Duration) bool {
	return l.queue.Close(wait, func(dropped int) logRecord {
		return logRecord{level: agentlog.Warning, at: l.now(),
			msg: fmt.Sprintf("%d log messages were dropped because logging could not keep up", dropped)}
	})
}

// logSinks is owned by the queue's writer goroutine; nothing else touches it
// except the shared stderr mutex.
type logSinks struct {
	cfg    loggerConfig
	syslog *agentlog.Syslog // nil unless HA_LOGFACILITY asks for syslog
	files  map[string]io.WriteCloser
	dead   map[string]bool
}

func (s *logSinks) write(rec logRecord) {
	line := rec.level.String() + ": " + rec.msg
	if !rec.quietOnStderr {
		s.cfg.stderrMu.Lock()
		_, _ = io.WriteString(s.cfg.stderr, s.cfg.stderrTag+": "+line+"\n")
		s.cfg.stderrMu.Unlock()
	}
	s.syslog.Write(rec.level, line)

	fileLine := rec.at.Format(logFileDateFormat) + " " + s.cfg.fileTag + ": " + line + "\n"
	if rec.level != agentlog.Debug && s.cfg.logFile != "" {
		s.writeFile(s.cfg.logFile, fileLine)
	}
	if s.cfg.debugLog != "" && (rec.level == agentlog.Debug || s.cfg.debugLog != s.cfg.logFile) {
		s.writeFile(s.cfg.debugLog, fileLine)
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
	_ = s.syslog.Close()
}

// openLogFile appends to a log file, creating it readable by the admin group.
func openLogFile(path string) (io.WriteCloser, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
}
