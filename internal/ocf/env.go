package ocf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Environment variable names and prefixes of the OCF / Pacemaker contract.
const (
	envParamPrefix       = "OCF_RESKEY_"
	envMetaPrefix        = "OCF_RESKEY_CRM_meta_"
	envResourceInstance  = "OCF_RESOURCE_INSTANCE"
	envResourceType      = "OCF_RESOURCE_TYPE"
	envCheckLevel        = "OCF_CHECK_LEVEL"
	envCheckLevelAsParam = "OCF_RESKEY_OCF_CHECK_LEVEL"
	envTraceRA           = "OCF_TRACE_RA"
	envTraceRAAsParam    = "OCF_RESKEY_trace_ra"
	envLogFacility       = "HA_LOGFACILITY"
	envLogFile           = "HA_LOGFILE"
	envDebugLog          = "HA_DEBUGLOG"
	envDebug             = "HA_debug"
	envLogTag            = "HA_LOGTAG"
	envRscTmp            = "HA_RSCTMP"
)

// Env is the parsed OCF environment of one agent invocation. It is built from
// an explicit []string (os.Environ() in production) so that parsing is a pure
// function that tests and fuzzers can drive.
type Env struct {
	// Params holds OCF_RESKEY_<name> values by <name>, excluding CRM_meta_*.
	Params map[string]string
	// Meta holds OCF_RESKEY_CRM_meta_<name> values by <name>, e.g.
	// "migrate_target" or "notify_type". Timeout and interval are also parsed
	// into the fields below.
	Meta map[string]string

	ResourceInstance string // OCF_RESOURCE_INSTANCE
	ResourceType     string // OCF_RESOURCE_TYPE

	// Timeout is CRM_meta_timeout; zero when absent or invalid.
	Timeout time.Duration
	// Interval is CRM_meta_interval; zero when absent, empty or invalid.
	Interval time.Duration
	// CheckLevel is the requested monitor depth, normalised to 0, 10 or 20.
	CheckLevel int

	LogFacility string // HA_LOGFACILITY, raw
	LogFile     string // HA_LOGFILE
	DebugLog    string // HA_DEBUGLOG
	LogTag      string // HA_LOGTAG
	// RscTmp is HA_RSCTMP, where agents keep per-resource state until the next boot
	// (/run/resource-agents when unset).
	RscTmp string
	Debug  bool // HA_debug or RA tracing asked for debug output
	Trace  bool // OCF_TRACE_RA (or the trace_ra resource parameter)

	// Warnings lists values that could not be understood. They never fail an
	// action; the runtime logs them so an admin can fix the configuration.
	Warnings []string

	// intervalInvalid is set when CRM_meta_interval was present but garbage.
	// Such a monitor is not treated as a probe: a probe result of NotRunning
	// can mask failures, so we only assume "probe" when the value says so.
	intervalInvalid bool
}

// ParseEnv parses an environment in os.Environ() form ("KEY=value"). Entries
// without "=" are ignored; for duplicate keys the first one wins, as with
// os.Getenv. It never fails: problems are recorded in Env.Warnings.
func ParseEnv(environ []string) *Env {
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		key, value, ok := strings.Cut(kv, "=")
		if !ok || key == "" {
			continue
		}
		if _, seen := vars[key]; !seen {
			vars[key] = value
		}
	}

	env := &Env{Params: map[string]string{}, Meta: map[string]string{}}
	for key, value := range vars {
		switch {
		case strings.HasPrefix(key, envMetaPrefix):
			if name := key[len(envMetaPrefix):]; name != "" {
				env.Meta[name] = value
			}
		case strings.HasPrefix(key, envParamPrefix):
			if name := key[len(envParamPrefix):]; name != "" {
				env.Params[name] = value
			}
		}
	}

	env.ResourceInstance = vars[envResourceInstance]
	env.ResourceType = vars[envResourceType]
	env.LogFacility = vars[envLogFacility]
	env.LogFile = vars[envLogFile]
	env.DebugLog = vars[envDebugLog]
	env.LogTag = vars[envLogTag]
	env.RscTmp = vars[envRscTmp]
	if env.RscTmp == "" {
		env.RscTmp = defaultRscTmp
	}

	env.parseTimeout(env.Meta["timeout"])
	env.parseInterval(env.Meta["interval"])

	// OCF_CHECK_LEVEL wins; Pacemaker passes the operation's OCF_CHECK_LEVEL
	// attribute as a resource parameter, which ocf-shellfuncs falls back to.
	level := vars[envCheckLevel]
	if level == "" {
		level = vars[envCheckLevelAsParam]
	}
	env.parseCheckLevel(level)

	env.Trace = isTruthy(vars[envTraceRA]) || isTruthy(vars[envTraceRAAsParam])
	env.Debug = debugEnabled(vars[envDebug]) || env.Trace
	return env
}

func (env *Env) warnf(format string, args ...any) {
	env.Warnings = append(env.Warnings, fmt.Sprintf(format, args...))
}

// parseMilliseconds reads Pacemaker's millisecond integers without
// overflowing time.Duration.
func parseMilliseconds(raw string) (time.Duration, bool) {
	ms, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil || ms < 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}

func (env *Env) parseTimeout(raw string) {
	if raw == "" {
		return
	}
	d, ok := parseMilliseconds(raw)
	if !ok || d == 0 {
		env.warnf("ignoring invalid %stimeout %q (expected milliseconds > 0)", envMetaPrefix, raw)
		return
	}
	env.Timeout = d
}

func (env *Env) parseInterval(raw string) {
	if raw == "" {
		return // absent: a one-shot operation, i.e. a probe for monitor
	}
	d, ok := parseMilliseconds(raw)
	if !ok {
		env.warnf("ignoring invalid %sinterval %q (expected milliseconds)", envMetaPrefix, raw)
		env.intervalInvalid = true
		return
	}
	env.Interval = d
}

// parseCheckLevel normalises the requested depth. OCF defines levels 0, 10
// and 20 and says an agent should fall back to the next lower level it
// supports, so 15 means 10 and 99 means 20. Garbage or negative values mean
// 0 (the cheapest check) with a warning: a typo must not fail the monitor.
func (env *Env) parseCheckLevel(raw string) {
	if raw == "" {
		return
	}
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil || n < 0 {
		env.warnf("ignoring invalid %s %q; using 0", envCheckLevel, raw)
		return
	}
	switch {
	case n >= 20:
		env.CheckLevel = 20
	case n >= 10:
		env.CheckLevel = 10
	}
}

// isProbeInterval reports whether the interval marks a one-shot operation.
func (env *Env) isProbeInterval() bool {
	return !env.intervalInvalid && env.Interval == 0
}

// isTruthy accepts the Pacemaker boolean spellings for "true".
func isTruthy(s string) bool {
	v, err := parseBool(s)
	return err == nil && v
}

// debugEnabled follows ocf-shellfuncs: HA_debug is on unless empty or "0";
// we also honour the explicit false spellings ("no", "off", ...).
func debugEnabled(s string) bool {
	if s == "" {
		return false
	}
	v, err := parseBool(s)
	return err != nil || v
}
