package ocf

import (
	"fmt"
	"strings"
	"time"
)

// Request is what an action handler gets: the parsed environment, typed
// parameter access and a logger.
type Request struct {
	// Log writes ocf_log-style messages; it never blocks or fails.
	Log *Logger

	action  string
	env     *Env
	agent   *Agent
	timeout time.Duration
}

// Action is the action being run, e.g. "start" or "monitor".
func (r *Request) Action() string { return r.action }

// Instance is OCF_RESOURCE_INSTANCE (e.g. "vm1" or "vm1:0" for clones).
func (r *Request) Instance() string { return r.env.ResourceInstance }

// Type is OCF_RESOURCE_TYPE, or the agent name when the caller did not set it.
func (r *Request) Type() string {
	if r.env.ResourceType != "" {
		return r.env.ResourceType
	}
	return r.agent.Name
}

// IsProbe reports whether this is a probe: a monitor (or status) with
// interval 0 or no interval at all. Pacemaker probes every node to learn where
// a resource runs; "not installed here" must then read as NotRunning.
func (r *Request) IsProbe() bool {
	return isMonitor(r.action) && r.env.isProbeInterval()
}

// Interval is the recurring operation interval (zero for one-shot operations).
func (r *Request) Interval() time.Duration { return r.env.Interval }

// CheckLevel is the requested monitor depth: 0, 10 or 20 (see Env.CheckLevel).
func (r *Request) CheckLevel() int { return r.env.CheckLevel }

// Timeout is the time budget the cluster gave this action (or the declared
// default). The handler's context expires a safety margin earlier.
func (r *Request) Timeout() time.Duration { return r.timeout }

// Meta returns the OCF_RESKEY_CRM_meta_<name> value, "" when absent. Dashes
// in name are accepted: Pacemaker exports "migrate-target" as migrate_target.
func (r *Request) Meta(name string) string {
	return r.env.Meta[strings.ReplaceAll(name, "-", "_")]
}

// IsSet reports whether a declared parameter has a non-empty value.
func (r *Request) IsSet(name string) bool {
	r.param(name)
	_, ok := lookupParam(r.env.Params, name)
	return ok
}

// String returns a parameter's value, or its default when unset.
func (r *Request) String(name string) string {
	p := r.param(name)
	if v, ok := lookupParam(r.env.Params, name); ok {
		return v
	}
	return p.Default
}

// Int returns an integer parameter, its default when unset, or 0 when it has
// neither. Values were validated before the handler ran.
func (r *Request) Int(name string) int {
	p := r.typedParam(name, TypeInteger)
	s := r.String(name)
	if s == "" {
		return 0
	}
	n, err := parseInt(s)
	if err != nil {
		panic(fmt.Sprintf("ocf: parameter %s read before validation", p.Name))
	}
	return n
}

// Bool returns a boolean parameter, its default when unset, or false.
func (r *Request) Bool(name string) bool {
	p := r.typedParam(name, TypeBoolean)
	s := r.String(name)
	if s == "" {
		return false
	}
	v, err := parseBool(s)
	if err != nil {
		panic(fmt.Sprintf("ocf: parameter %s read before validation", p.Name))
	}
	return v
}

// param finds a declared parameter. Asking for an undeclared one is a bug in
// the agent, not bad input, so it panics; the runtime turns the panic into
// ErrGeneric with an exit reason, and the agent's tests catch it first.
func (r *Request) param(name string) *Param {
	for i := range r.agent.Params {
		if r.agent.Params[i].Name == name {
			return &r.agent.Params[i]
		}
	}
	panic(fmt.Sprintf("ocf: parameter %q is not declared by agent %s", name, r.agent.Name))
}

func (r *Request) typedParam(name string, want ParamType) *Param {
	p := r.param(name)
	if p.Type != want {
		panic(fmt.Sprintf("ocf: parameter %s is declared as %s, not %s", name, p.Type, want))
	}
	return p
}

// Redact replaces the values of secret parameters in s with "***", for text
// that comes from elsewhere (a library error quoting a URL with a key, say).
// The logger and exit reasons already do this; see Logger for the rules.
func (r *Request) Redact(s string) string {
	return secretRedactor(r.agent.Params, r.env.Params).Redact(s)
}
