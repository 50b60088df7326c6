package kvmhacmd

import (
	"fmt"
	"io"
	"log/syslog"
	"sync"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// daemonLog writes timestamped lines to w (the daemon's log file: the
// agent points stderr there) and, behind a queue that never blocks, to
// syslog as "kvmha-heartbeat".
type daemonLog struct {
	mu    sync.Mutex
	w     io.Writer
	queue *agentlog.Queue[logLine]
}

type logLine struct {
	level agentlog.Level
	msg   string
}

func newDaemonLog(w io.Writer, useSyslog bool) *daemonLog {
	l := &daemonLog{w: w}
	if useSyslog {
		sink := agentlog.NewSyslog(func() (agentlog.SyslogWriter, error) {
			return agentlog.DialSyslog(syslog.LOG_DAEMON, "kvmha-heartbeat")
		})
		l.queue = agentlog.NewQueue(256, func(r logLine) { sink.Write(r.level, r.msg) }, func() { sink.Close() })
	}
	return l
}

func (l *daemonLog) log(level agentlog.Level, format string, args ...any) {
	msg := safeMessage(fmt.Sprintf(format, args...))
	l.mu.Lock()
	fmt.Fprintf(l.w, "%s %s: %s\n", time.Now().Format("2006-01-02 15:04:05.000"), level, msg)
	l.mu.Unlock()
	if l.queue != nil {
		l.queue.Send(logLine{level, msg})
	}
}

func (l *daemonLog) Infof(format string, args ...any)  { l.log(agentlog.Info, format, args...) }
func (l *daemonLog) Warnf(format string, args ...any)  { l.log(agentlog.Warning, format, args...) }
func (l *daemonLog) Errorf(format string, args ...any) { l.log(agentlog.Error, format, args...) }

func (l *daemonLog) close() {
	if l.queue != nil {
		l.queue.Close(time.Second, nil)
	}
}

// messageRedactor hides keys that reach a message by mistake (a key given as a flag value,
// a config file quoted in an error); the command holds no declared secrets of its own.
var messageRedactor = agentlog.NewRedactor("***")

// safeMessage is a message as written: keys hidden, one line, bounded, valid UTF-8.
func safeMessage(s string) string {
	return agentlog.Line(messageRedactor.Redact(s))
}
