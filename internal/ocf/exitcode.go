package ocf

import "strconv"

// ExitCode is an OCF 1.1 resource-agent exit status. Pacemaker maps each one
// to a recovery policy, so agents must pick the code that describes what is
// true about the resource, not merely "something failed".
type ExitCode int

// The exit codes defined by OCF 1.1 (and used by Pacemaker 2.1).
const (
	Success          ExitCode = 0   // OCF_SUCCESS: the action succeeded / resource is running
	ErrGeneric       ExitCode = 1   // OCF_ERR_GENERIC: soft error, recover locally or move
	ErrArgs          ExitCode = 2   // OCF_ERR_ARGS: configuration invalid on this node
	ErrUnimplemented ExitCode = 3   // OCF_ERR_UNIMPLEMENTED: action not implemented
	ErrPerm          ExitCode = 4   // OCF_ERR_PERM: insufficient privileges
	ErrInstalled     ExitCode = 5   // OCF_ERR_INSTALLED: required software missing on this node
	ErrConfigured    ExitCode = 6   // OCF_ERR_CONFIGURED: configuration invalid everywhere (fatal)
	NotRunning       ExitCode = 7   // OCF_NOT_RUNNING: resource is cleanly stopped
	RunningPromoted  ExitCode = 8   // OCF_RUNNING_PROMOTED: running in the promoted role
	FailedPromoted   ExitCode = 9   // OCF_FAILED_PROMOTED: promoted instance has failed
	Degraded         ExitCode = 190 // OCF_DEGRADED: running, but not fully healthy
	DegradedPromoted ExitCode = 191 // OCF_DEGRADED_PROMOTED: promoted, but not fully healthy
)

// exitCodeInfo holds the OCF constant name and a short human description used
// as the exit reason when an action fails without saying why.
var exitCodeInfo = map[ExitCode]struct{ name, desc string }{
	Success:          {"OCF_SUCCESS", "success"},
	ErrGeneric:       {"OCF_ERR_GENERIC", "generic error"},
	ErrArgs:          {"OCF_ERR_ARGS", "invalid arguments"},
	ErrUnimplemented: {"OCF_ERR_UNIMPLEMENTED", "action not implemented"},
	ErrPerm:          {"OCF_ERR_PERM", "insufficient privileges"},
	ErrInstalled:     {"OCF_ERR_INSTALLED", "required component not installed"},
	ErrConfigured:    {"OCF_ERR_CONFIGURED", "invalid configuration"},
	NotRunning:       {"OCF_NOT_RUNNING", "not running"},
	RunningPromoted:  {"OCF_RUNNING_PROMOTED", "running promoted"},
	FailedPromoted:   {"OCF_FAILED_PROMOTED", "promoted instance failed"},
	Degraded:         {"OCF_DEGRADED", "running degraded"},
	DegradedPromoted: {"OCF_DEGRADED_PROMOTED", "running promoted, degraded"},
}

// String returns the OCF constant name, e.g. "OCF_NOT_RUNNING".
func (c ExitCode) String() string {
	if info, ok := exitCodeInfo[c]; ok {
		return info.name
	}
	return "OCF_EXIT_" + strconv.Itoa(int(c))
}

// Description is a short lower-case phrase for the code, e.g. "not running".
func (c ExitCode) Description() string {
	if info, ok := exitCodeInfo[c]; ok {
		return info.desc
	}
	return "unknown exit code " + strconv.Itoa(int(c))
}

// Valid reports whether c is one of the OCF 1.1 exit codes.
func (c ExitCode) Valid() bool {
	_, ok := exitCodeInfo[c]
	return ok
}

// IsState reports whether c describes a resource state rather than a failure.
// A monitor answering NotRunning or RunningPromoted is reporting facts, so the
// runtime does not invent an exit reason for these codes.
func (c ExitCode) IsState() bool {
	switch c {
	case Success, NotRunning, RunningPromoted, Degraded, DegradedPromoted:
		return true
	}
	return false
}
