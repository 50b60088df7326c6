package ocf

import (
	"log/syslog"
	"strconv"
	"strings"
)

var syslogFacilities = map[string]syslog.Priority{
	"kern": syslog.LOG_KERN, "user": syslog.LOG_USER, "mail": syslog.LOG_MAIL,
	"daemon": syslog.LOG_DAEMON, "auth": syslog.LOG_AUTH, "syslog": syslog.LOG_SYSLOG,
	"lpr": syslog.LOG_LPR, "news": syslog.LOG_NEWS, "uucp": syslog.LOG_UUCP,
	"cron": syslog.LOG_CRON, "authpriv": syslog.LOG_AUTHPRIV, "ftp": syslog.LOG_FTP,
	"local0": syslog.LOG_LOCAL0, "local1": syslog.LOG_LOCAL1, "local2": syslog.LOG_LOCAL2,
	"local3": syslog.LOG_LOCAL3, "local4": syslog.LOG_LOCAL4, "local5": syslog.LOG_LOCAL5,
	"local6": syslog.LOG_LOCAL6, "local7": syslog.LOG_LOCAL7,
}

// syslogFacility interprets HA_LOGFACILITY.
//
// Unset (or "none") means no syslog of our own: under Pacemaker the executor
// already copies every line an agent writes to stderr into its log and the
// journal at notice level, so sending the same line to syslog too would
// duplicate it. This matches ocf-shellfuncs, which only calls logger(1) when
// HA_LOGFACILITY is set. An unrecognised name falls back to "daemon" with a
// warning: the admin clearly wanted syslog.
func syslogFacility(raw string) (facility syslog.Priority, enabled bool, warning string) {
	name := strings.ToLower(strings.TrimSpace(raw))
	if name == "" || name == "none" {
		return 0, false, ""
	}
	if f, ok := syslogFacilities[name]; ok {
		return f, true, ""
	}
	return syslog.LOG_DAEMON, true, "unknown " + envLogFacility + " " + strconv.Quote(raw) + "; logging to facility daemon"
}
