package fence

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Action names.
const (
	ActionOn          = "on"
	ActionOff         = "off"
	ActionReboot      = "reboot"
	ActionStatus      = "status"
	ActionList        = "list"
	ActionListStatus  = "list-status"
	ActionMonitor     = "monitor"
	ActionMetadata    = "metadata"
	ActionManpage     = "manpage"
	ActionValidateAll = "validate-all"
)

// Power is the power state of a plug.
type Power int

// Power states.
const (
	PowerUnknown Power = iota
	PowerOn
	PowerOff
)

// String returns "on", "off" or "unknown".
func (p Power) String() string {
	switch p {
	case PowerOn:
		return "on"
	case PowerOff:
		return "off"
	}
	return "unknown"
}

// Plug is one entry of the list and list-status output.
type Plug struct {
	ID    string
	Alias string // may be empty
	State Power  // only printed by list-status
}

// Request is what an action func gets besides its context.
type Request struct {
	Action   string  // the action being run (for reboot: "reboot" even in its off and on phases)
	Plug     string  // the target plug; empty for list, list-status, monitor and validate-all unless given
	NodeName string  // nodename= from the fencer, if any
	Values   *Values // all options
	Log      *Logger
}

// Agent declares a fence agent. Off is mandatory; every other func is
// optional and the actions depending on it are only offered when it is set.
type Agent struct {
	Name      string // program name, e.g. "fence_lab"
	ShortDesc string
	LongDesc  string
	VendorURL string
	Version   string

	// Options declared by the agent, in meta-data and help order.
	Options []Option

	// NoPlug agents fence a fixed target and do not take plug/port.
	NoPlug bool
	// PlugDescription overrides the description of plug.
	PlugDescription string
	// Unfencing marks a fabric-fencing agent whose "on" unfences the node it
	// runs on: "on" is advertised with on_target="1" automatic="1", there is
	// no reboot action, and the default action is off.
	Unfencing bool

	// Timeouts overrides the budget of individual actions (see the package
	// documentation for the deadline rule).
	Timeouts map[string]time.Duration

	Status  func(ctx context.Context, r *Request) (Power, error)
	On      func(ctx context.Context, r *Request) error
	Off     func(ctx context.Context, r *Request) error
	Reboot  func(ctx context.Context, r *Request) error
	List    func(ctx context.Context, r *Request) ([]Plug, error)
	Monitor func(ctx context.Context, r *Request) error
	// Validate checks the device options beyond types and required-ness; it
	// runs for validate-all and before every device action.
	Validate func(ctx context.Context, r *Request) error
}

// actions returns the actions this agent supports, in meta-data order.
func (a *Agent) actions() []string {
	var acts []string
	if a.On != nil {
		acts = append(acts, ActionOn)
	}
	acts = append(acts, ActionOff)
	if a.canReboot() {
		acts = append(acts, ActionReboot)
	}
	if a.Status != nil {
		acts = append(acts, ActionStatus)
	}
	if a.List != nil {
		acts = append(acts, ActionList, ActionListStatus)
	}
	return append(acts, ActionMonitor, ActionMetadata, ActionManpage, ActionValidateAll)
}

func (a *Agent) canReboot() bool {
	return !a.Unfencing && (a.Reboot != nil || a.On != nil)
}

func (a *Agent) supports(action string) bool {
	for _, x := range a.actions() {
		if x == action {
			return true
		}
	}
	return false
}

// needsPlug reports whether an action addresses one plug.
func (a *Agent) needsPlug(action string) bool {
	if a.NoPlug {
		return false
	}
	switch action {
	case ActionOn, ActionOff, ActionReboot, ActionStatus:
		return true
	}
	return false
}

var (
	nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	longRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
)

// Check reports mistakes in the declaration: missing names or Off func,
// malformed or clashing option names and flags, invalid defaults, bad
// timeouts. Main refuses to run an agent that fails Check.
func (a *Agent) Check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !longRE.MatchString(a.Name) {
		bad("agent name %q is not a valid program name", a.Name)
	}
	if a.ShortDesc == "" {
		bad("agent %s has no ShortDesc", a.Name)
	}
	if a.Off == nil {
		bad("agent %s has no Off func", a.Name)
	}
	if a.Unfencing && a.Reboot != nil {
		bad("unfencing agent %s cannot have a Reboot func", a.Name)
	}
	head, tail := a.genericSpecs()
	names, longs, keys, shorts := map[string]string{}, map[string]string{}, map[string]string{}, map[rune]string{}
	claim := func(s *spec) {
		if prev, ok := names[s.Name]; ok {
			bad("option name %q clashes with %s", s.Name, prev)
		}
		names[s.Name] = s.Name
		for _, l := range append([]string{s.long()}, s.longs...) {
			if prev, ok := longs[l]; ok && prev != s.Name {
				bad("option %s: long flag --%s clashes with %s", s.Name, l, prev)
			}
			longs[l] = s.Name
		}
		for _, k := range append(append([]string{s.Name}, s.keys...), s.Aliases...) {
			if prev, ok := keys[k]; ok && prev != s.Name {
				bad("option %s: stdin key %q clashes with %s", s.Name, k, prev)
			}
			keys[k] = s.Name
		}
		if s.Short != 0 {
			if prev, ok := shorts[s.Short]; ok {
				bad("option %s: short flag -%c clashes with %s", s.Name, s.Short, prev)
			}
			shorts[s.Short] = s.Name
		}
	}
	for _, s := range head {
		claim(s)
	}
	for _, s := range tail {
		claim(s)
	}
	for i := range a.Options {
		o := &a.Options[i]
		if !nameRE.MatchString(o.Name) {
			bad("option name %q must match %s", o.Name, nameRE)
			continue
		}
		if !longRE.MatchString(o.long()) {
			bad("option %s: long flag %q must match %s", o.Name, o.long(), longRE)
		}
		if o.Short != 0 && !(o.Short < 128 && (o.Short >= 'a' && o.Short <= 'z' || o.Short >= 'A' && o.Short <= 'Z' || o.Short >= '0' && o.Short <= '9')) {
			bad("option %s: short flag must be an ASCII letter or digit", o.Name)
		}
		if o.Type < String || o.Type > Second {
			bad("option %s: unknown type %d", o.Name, int(o.Type))
		}
		if len(o.Choices) > 0 && o.Type != String {
			bad("option %s: choices need type String", o.Name)
		}
		for _, k := range o.Aliases {
			if !nameRE.MatchString(k) {
				bad("option %s: alias %q must match %s", o.Name, k, nameRE)
			}
		}
		if o.Description == "" {
			bad("option %s has no Description", o.Name)
		}
		if o.Default != "" {
			if err := checkValue(&spec{Option: *o}, o.Default); err != nil {
				bad("option %s: default %q: %v", o.Name, o.Default, err)
			}
		}
		claim(&spec{Option: *o, longs: []string{o.long()}})
	}
	for act, d := range a.Timeouts {
		if !a.supports(act) {
			bad("timeout for unsupported action %q", act)
		}
		if d <= 0 {
			bad("timeout for %s must be positive", act)
		}
	}
	return errors.Join(errs...)
}
