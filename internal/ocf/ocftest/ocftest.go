// Package ocftest runs an OCF agent in-process the way Pacemaker's executor runs it: the
// environment it builds (parameters, meta attributes, a probe or a recurring monitor, the
// timeout, HA_RSCTMP in a temporary folder) and what the agent said (exit code, output,
// the exit reason). Only tests import it; each agent's tests add their fakes of the
// outside world and call Run.
package ocftest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/ocf"
)

// The variables of the OCF contract the tests set.
const (
	VarInstance  = "OCF_RESOURCE_INSTANCE"
	VarType      = "OCF_RESOURCE_TYPE"
	VarRscTmp    = "HA_RSCTMP"
	ParamPrefix  = "OCF_RESKEY_"
	MetaPrefix   = "OCF_RESKEY_CRM_meta_"
	metaInterval = "interval"
	metaTimeout  = "timeout"
)

// RecurringInterval is the interval of a monitor that is not a probe, unless a test
// chooses another.
const RecurringInterval = 10 * time.Second

// Env is the environment of one invocation, by variable name. Tests may set any variable
// directly, a hostile or malformed one included.
type Env map[string]string

// NewEnv is the environment Pacemaker gives resource instance of type typ ("" leaves
// OCF_RESOURCE_TYPE unset): HA_RSCTMP is a folder of the test's own, not created yet, as
// on a node that just booted.
func NewEnv(t testing.TB, instance, typ string) Env {
	t.Helper()
	e := Env{VarInstance: instance, VarRscTmp: filepath.Join(t.TempDir(), "rsctmp")}
	if typ != "" {
		e[VarType] = typ
	}
	return e
}

// RscTmp is HA_RSCTMP, where the agent keeps its records.
func (e Env) RscTmp() string { return e[VarRscTmp] }

// Param is the value of resource parameter name.
func (e Env) Param(name string) string { return e[ParamPrefix+name] }

// SetParam sets resource parameter name (OCF_RESKEY_name).
func (e Env) SetParam(name, value string) Env {
	e[ParamPrefix+name] = value
	return e
}

// SetMeta sets meta attribute name (OCF_RESKEY_CRM_meta_name), such as "on_node".
func (e Env) SetMeta(name, value string) Env {
	e[MetaPrefix+name] = value
	return e
}

// SetTimeout sets the operation's timeout, which the agent's deadline follows.
func (e Env) SetTimeout(d time.Duration) Env { return e.SetMeta(metaTimeout, milliseconds(d)) }

// SetInterval sets the operation's interval: 0 makes a monitor a probe.
func (e Env) SetInterval(d time.Duration) Env { return e.SetMeta(metaInterval, milliseconds(d)) }

func milliseconds(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// With returns a copy of e with variables ("NAME=value") set over it.
func (e Env) With(vars ...string) Env {
	c := maps.Clone(e)
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		c[k] = v
	}
	return c
}

// For returns a copy of e for action, changed by args in the short form the agents' tests
// write: "name=value" sets a parameter, "env=NAME=value" any variable, and "probe" makes a
// monitor a probe; a monitor is recurring (every RecurringInterval) otherwise. Variables
// win over parameters, parameters over the interval.
func (e Env) For(action string, args ...string) Env {
	c := maps.Clone(e)
	interval := RecurringInterval
	var vars []string
	params := map[string]string{}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "probe":
			interval = 0
		case "env":
			vars = append(vars, v)
		default:
			params[k] = v
		}
	}
	if action == ocf.ActionMonitor {
		c.SetInterval(interval)
	}
	for k, v := range params {
		c.SetParam(k, v)
	}
	return c.With(vars...)
}

// Environ is e in os.Environ's form, in a stable order.
func (e Env) Environ() []string {
	out := make([]string, 0, len(e))
	for _, k := range slices.Sorted(maps.Keys(e)) {
		out = append(out, k+"="+e[k])
	}
	return out
}

// Result is what one invocation said.
type Result struct {
	Code   ocf.ExitCode
	Stdout string
	Stderr string
	// Reason is the exit reason as Pacemaker reads it: the text after the last
	// "ocf-exit-reason:" on stderr, to the end of that line; "" when none.
	Reason string
	Took   time.Duration
}

const exitReasonMarker = "ocf-exit-reason:"

// Run runs action of agent in-process with env, through Agent.Main as the agent's
// command would.
func Run(agent *ocf.Agent, action string, env Env) Result {
	// Plain buffers do: Main returns once its logger has written all it will (tests set no
	// syslog, whose slowness could outlast the logger's flush wait).
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := agent.Main([]string{agent.Name, action}, env.Environ(), &stdout, &stderr)
	r := Result{Code: ocf.ExitCode(code), Stdout: stdout.String(), Stderr: stderr.String(), Took: time.Since(start)}
	if i := strings.LastIndex(r.Stderr, exitReasonMarker); i >= 0 {
		r.Reason, _, _ = strings.Cut(r.Stderr[i+len(exitReasonMarker):], "\n")
	}
	return r
}

// Expect fails the test unless the invocation ended with code and its stderr (where the
// exit reason is too) contains every part.
func (r Result) Expect(t testing.TB, code ocf.ExitCode, parts ...string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", r.Code, code, r.Stderr)
	}
	for _, p := range parts {
		if !strings.Contains(r.Stderr, p) {
			t.Fatalf("output lacks %q; stderr:\n%s", p, r.Stderr)
		}
	}
}

// ReadRecord reads the record (JSON) an agent keeps at path; ok is false when there is
// none. A record that cannot be read or parsed fails the test.
func ReadRecord[T any](t testing.TB, path string) (rec T, ok bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return rec, false
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatalf("record %s: %v", data, err)
	}
	return rec, true
}

// WriteRecord writes rec at path as the agent would have, its folder included.
func WriteRecord(t testing.TB, path string, rec any) {
	t.Helper()
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
