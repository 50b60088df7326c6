package agentlog

import (
	"log/syslog"
	"strings"
)

// SyslogWriter is the part of *syslog.Writer a Syslog uses; tests supply
// fakes, including ones that hang, to prove logging cannot stall an action.
type SyslogWriter interface {
	Debug(msg string) error
	Info(msg string) error
	Warning(msg string) error
	Err(msg string) error
	Close() error
}

// DialSyslog connects to the local syslog socket. log/syslog adds the pid to
// tag itself.
func DialSyslog(facility syslog.Priority, tag string) (SyslogWriter, error) {
	return syslog.Dial("", "", facility|syslog.LOG_INFO, tag)
}

// Syslog writes messages at the syslog severity of their Level.
//
// It connects on the first message rather than up front, and after the first
// failure to connect or write it stays silent: there is no syslog socket in
// containers or early boot, and stderr still carries every message, so a
// missing syslog must cost nothing. It is meant to be driven by a Queue's
// writer goroutine and is not safe for concurrent use. A nil *Syslog discards
// everything, so "no syslog configured" needs no special case.
type Syslog struct {
	dial func() (SyslogWriter, error)
	w    SyslogWriter
	dead bool
}

// NewSyslog returns a sink that calls dial when it first has a message.
func NewSyslog(dial func() (SyslogWriter, error)) *Syslog {
	return &Syslog{dial: dial}
}

// Write sends msg at level's severity.
func (s *Syslog) Write(level Level, msg string) {
	if s == nil || s.dead {
		return
	}
	if s.w == nil {
		w, err := s.dial()
		if err != nil || w == nil {
			s.dead = true
			return
		}
		s.w = w
	}
	// A NUL would end the message early at the syslog daemon.
	msg = strings.ReplaceAll(msg, "\x00", " ")
	var err error
	switch level {
	case Debug:
		err = s.w.Debug(msg)
	case Info:
		err = s.w.Info(msg)
	case Warning:
		err = s.w.Warning(msg)
	default:
		err = s.w.Err(msg)
	}
	if err != nil {
		s.dead = true
	}
}

// Close closes the connection, if one was made.
func (s *Syslog) Close() error {
	if s == nil || s.w == nil {
		return nil
	}
	return s.w.Close()
}
