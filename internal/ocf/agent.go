package ocf

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Handler implements one action. It returns nil for Success, an error made by
// Errorf or Exit for a specific exit code, or any other error for ErrGeneric.
// ctx expires shortly before Pacemaker's timeout; see deadline.go.
type Handler func(ctx context.Context, req *Request) error

// Agent describes a resource agent: its documentation, parameters and action
// handlers. A nil handler means the action is not implemented.
type Agent struct {
	// Name is the resource type, i.e. the file name under
	// /usr/lib/ocf/resource.d/<provider>/.
	Name string
	// Version is the agent's own version (not the OCF version).
	Version   string
	ShortDesc string
	LongDesc  string
	Params    []Param

	Start       Handler // required
	Stop        Handler // required
	Monitor     Handler // required; also serves "status"
	Promote     Handler
	Demote      Handler
	Notify      Handler
	MigrateTo   Handler
	MigrateFrom Handler
	Reload      Handler
	ReloadAgent Handler
	// StopRecorded stops what this node's record (Request.LoadRecord) says the agent
	// started, for a stop whose parameters cannot be used: the runtime's checks refused
	// them, or Stop returned ErrConfigured or ErrArgs. It is called only when a record
	// exists, must use nothing but the record (and declared defaults), and removes the
	// record once what it names is stopped. nil: the agent keeps no record, and such a
	// stop succeeds, since nothing can have started with that configuration.
	StopRecorded Handler
	// MonitorRecorded reports the state of what this node's record names, for a monitor
	// whose parameters cannot be used, when a record exists: a probe must not answer "not
	// running" for a guest the record says runs here just because of a typo. nil: such a
	// probe answers not running and a recurring monitor fails (the rules of
	// validationOutcome).
	MonitorRecorded Handler
	// LegacyRecords lists files where earlier versions of the agent kept their record; a
	// stop or monitor with unusable parameters treats them as a record, and StopRecorded or
	// MonitorRecorded read them.
	LegacyRecords func(*Request) []string
	// Validate adds agent-specific checks after the runtime's parameter type
	// checks. It runs for validate-all and before the actions whose spec sets
	// runsValidate (see actions.go) - not before stop, demote or notify.
	Validate Handler

	// Timeouts overrides the default timeout advertised (and used when the
	// cluster passes none) per action name, e.g. {"start": 90 * time.Second}.
	Timeouts map[string]time.Duration
	// Monitors lists the recurring monitors advertised in meta-data. Empty
	// means one monitor every 10s at depth 0.
	Monitors []MonitorOp
}

// MonitorOp is one advertised monitor operation.
type MonitorOp struct {
	Interval time.Duration
	Timeout  time.Duration // zero: the monitor timeout
	Depth    int           // OCF_CHECK_LEVEL: 0, 10 or 20
	Role     string        // "", "Promoted" or "Unpromoted"
}

const (
	// DefaultTimeout is advertised for actions without an explicit timeout;
	// it is also Pacemaker's own default operation timeout.
	DefaultTimeout = 20 * time.Second
	// metaDataTimeout is advertised for meta-data, which only prints text.
	metaDataTimeout = 5 * time.Second
	// defaultMonitorInterval is advertised when Agent.Monitors is empty.
	defaultMonitorInterval = 10 * time.Second
)

// timeoutFor is the timeout advertised for an action and used as its budget
// when Pacemaker passes no OCF_RESKEY_CRM_meta_timeout (e.g. ocf-tester).
func (a *Agent) timeoutFor(action string) time.Duration {
	if action == ActionStatus {
		action = ActionMonitor
	}
	if d, ok := a.Timeouts[action]; ok && d > 0 {
		return d
	}
	if action == ActionMetaData {
		return metaDataTimeout
	}
	return DefaultTimeout
}

var (
	agentNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	paramNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Check reports mistakes in the declaration itself: bad names, defaults that
// do not match their type, contradictory flags. Agents should call it from a
// unit test; Main refuses to run actions (except meta-data and usage) for an
// agent that fails it.
func (a *Agent) Check() error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if !agentNamePattern.MatchString(a.Name) {
		fail("agent name %q must be non-empty and use only letters, digits, '.', '_' and '-'", a.Name)
	}
	if a.ShortDesc == "" {
		fail("agent %s has no ShortDesc", a.Name)
	}
	if !isPrintableText(a.Version) || !isPrintableText(a.ShortDesc) || !isPrintableText(a.LongDesc) {
		fail("agent %s has control characters or invalid UTF-8 in its texts", a.Name)
	}
	if a.Start == nil || a.Stop == nil || a.Monitor == nil {
		fail("agent %s must implement start, stop and monitor", a.Name)
	}

	seen := map[string]bool{}
	for i := range a.Params {
		for _, msg := range a.Params[i].declarationProblems() {
			fail("%s", msg)
		}
		if seen[a.Params[i].Name] {
			fail("parameter %s is declared twice", a.Params[i].Name)
		}
		seen[a.Params[i].Name] = true
	}

	for _, name := range slices.Sorted(maps.Keys(a.Timeouts)) {
		d := a.Timeouts[name]
		spec, known := lookupAction(name)
		switch {
		case !known:
			fail("timeout given for unknown action %q", name)
		case name == ActionStatus:
			fail("timeout given for status, which always uses monitor's")
		case spec.handler != nil && spec.handler(a) == nil:
			fail("timeout given for action %s, which the agent does not implement", name)
		case d <= 0:
			fail("timeout for action %s must be positive", name)
		}
	}

	for _, m := range a.Monitors {
		if m.Interval <= 0 {
			fail("advertised monitor needs a positive interval (a zero interval is a probe)")
		}
		if m.Timeout < 0 {
			fail("advertised monitor timeout must not be negative")
		}
		if m.Depth != 0 && m.Depth != 10 && m.Depth != 20 {
			fail("advertised monitor depth %d is not 0, 10 or 20", m.Depth)
		}
		if m.Role != "" && m.Role != "Promoted" && m.Role != "Unpromoted" {
			fail("advertised monitor role %q is not Promoted or Unpromoted", m.Role)
		}
	}
	return errors.Join(errs...)
}

// declarationProblems checks one parameter declaration.
func (p *Param) declarationProblems() []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if !paramNamePattern.MatchString(p.Name) {
		add("parameter name %q must match %s", p.Name, paramNamePattern)
	}
	if strings.HasPrefix(p.Name, "CRM_meta_") {
		add("parameter name %q collides with Pacemaker's meta attributes", p.Name)
	}
	if p.Type != TypeString && p.Type != TypeInteger && p.Type != TypeBoolean {
		add("parameter %s has invalid type %d", p.Name, int(p.Type))
	}
	if p.ShortDesc == "" {
		add("parameter %s has no ShortDesc", p.Name)
	}
	if !isPrintableText(p.ShortDesc) || !isPrintableText(p.LongDesc) || !isPrintableText(p.Default) {
		add("parameter %s has control characters or invalid UTF-8 in its texts", p.Name)
	}
	if p.Required && p.Default != "" {
		add("parameter %s is required but has a default, which would never apply", p.Name)
	}
	if len(p.Choices) > 0 && p.Type != TypeString {
		add("parameter %s has choices but is not a string", p.Name)
	}
	for _, c := range p.Choices {
		if c == "" || !isPrintableText(c) {
			add("parameter %s has an empty or unprintable choice", p.Name)
		}
	}
	if p.Default != "" {
		if msg := p.checkValue(p.Default); msg != "" {
			add("default of %s", msg)
		}
	}
	return problems
}

// isPrintableText accepts valid UTF-8 with no control characters other than
// newline and tab - the characters that survive XML 1.0 and man pages.
func isPrintableText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return false
		}
	}
	return true
}
