package service

import (
	"fmt"
	"io"
	"log/syslog"
	"sync"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Log writes the daemon's timestamped lines to w (its log file: HostHeartbeat points
// stderr there) and, behind a queue that never blocks, to syslog as "kvmha-heartbeat".
type Log struct {
	mu    sync.Mutex
	w     io.Writer
	queue *agentlog.Queue[logLine]
}

type logLine struct {
	level agentlog.Level
	msg   string
}

// NewLog is the daemon's log on w, and on syslog too when useSyslog is set (a syslog that
// is missing or slow never blocks the daemon).
func NewLog(w io.Writer, useSyslog bool) *Log {
	l := &Log{w: w}
	if useSyslog {
		sink := agentlog.NewSyslog(func() (agentlog.SyslogWriter, error) {
			return agentlog.DialSyslog(syslog.LOG_DAEMON, "kvmha-heartbeat")
		})
		l.queue = agentlog.NewQueue(256, func(r logLine) { sink.Write(r.level, r.msg) }, func() { sink.Close() })
	}
	return l
}

// redactor hides keys that reach a message by mistake (a config file quoted in an error);
// the daemon holds no declared secrets of its own.
var redactor = agentlog.NewRedactor("***")

func (l *Log) log(level agentlog.Level, format string, args ...any) {
	msg := redactor.Line(fmt.Sprintf(format, args...))
	l.mu.Lock()
	fmt.Fprintf(l.w, "%s %s: %s\n", time.Now().Format("2006-01-02 15:04:05.000"), level, msg)
	l.mu.Unlock()
	if l.queue != nil {
		l.queue.Send(logLine{level, msg})
	}
}

func (l *Log) Infof(format string, args ...any)  { l.log(agentlog.Info, format, args...) }
func (l *Log) Warnf(format string, args ...any)  { l.log(agentlog.Warning, format, args...) }
func (l *Log) Errorf(format string, args ...any) { l.log(agentlog.Error, format, args...) }

// Close lets syslog take what is queued, for at most a second.
func (l *Log) Close() {
	if l.queue != nil {
		l.queue.Close(time.Second, nil)
	}
}
