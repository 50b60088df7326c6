package ocf

import (
	"strings"
	"testing"
	"time"
)

func TestSampleAgentsAreWellDeclared(t *testing.T) {
	for _, a := range []*Agent{minimalAgent(), richAgent()} {
		if err := a.Check(); err != nil {
			t.Errorf("%s: %v", a.Name, err)
		}
	}
}

func TestCheckFindsDeclarationMistakes(t *testing.T) {
	cases := map[string]struct {
		mutate func(*Agent)
		want   string
	}{
		"bad name":           {func(a *Agent) { a.Name = "has space" }, "agent name"},
		"empty name":         {func(a *Agent) { a.Name = "" }, "agent name"},
		"no shortdesc":       {func(a *Agent) { a.ShortDesc = "" }, "has no ShortDesc"},
		"control char":       {func(a *Agent) { a.LongDesc = "bell\x07" }, "control characters"},
		"no start":           {func(a *Agent) { a.Start = nil }, "must implement start, stop and monitor"},
		"bad param name":     {func(a *Agent) { a.Params[0].Name = "with-dash" }, "must match"},
		"meta param name":    {func(a *Agent) { a.Params[0].Name = "CRM_meta_timeout" }, "collides"},
		"duplicate param":    {func(a *Agent) { a.Params[1].Name = a.Params[0].Name }, "declared twice"},
		"bad type":           {func(a *Agent) { a.Params[0].Type = 7 }, "invalid type"},
		"param shortdesc":    {func(a *Agent) { a.Params[0].ShortDesc = "" }, "parameter count has no ShortDesc"},
		"required+default":   {func(a *Agent) { a.Params[0].Required = true }, "required but has a default"},
		"bad int default":    {func(a *Agent) { a.Params[0].Default = "three" }, `default of parameter count: "three" is not an integer`},
		"bad bool default":   {func(a *Agent) { a.Params[1].Default = "maybe" }, "is not a boolean"},
		"choices non-string": {func(a *Agent) { a.Params[0].Choices = []string{"1"} }, "has choices but is not a string"},
		"empty choice":       {func(a *Agent) { a.Params[2].Choices = []string{""} }, "empty or unprintable choice"},
		"default not choice": {func(a *Agent) {
			a.Params[2].Required = false
			a.Params[2].Default = "c"
			a.Params[2].Choices = []string{"a", "b"}
		}, "is not one of a, b"},
		"unknown timeout":  {func(a *Agent) { a.Timeouts = map[string]time.Duration{"begin": time.Second} }, `unknown action "begin"`},
		"unimpl timeout":   {func(a *Agent) { a.Timeouts = map[string]time.Duration{"promote": time.Second} }, "does not implement"},
		"status timeout":   {func(a *Agent) { a.Timeouts = map[string]time.Duration{"status": time.Second} }, "uses monitor's"},
		"zero timeout":     {func(a *Agent) { a.Timeouts = map[string]time.Duration{"start": 0} }, "must be positive"},
		"monitor interval": {func(a *Agent) { a.Monitors = []MonitorOp{{}} }, "positive interval"},
		"monitor depth":    {func(a *Agent) { a.Monitors = []MonitorOp{{Interval: time.Second, Depth: 5}} }, "depth 5"},
		"monitor role":     {func(a *Agent) { a.Monitors = []MonitorOp{{Interval: time.Second, Role: "Master"}} }, `role "Master"`},
		"monitor timeout":  {func(a *Agent) { a.Monitors = []MonitorOp{{Interval: time.Second, Timeout: -1}} }, "must not be negative"},
	}
	for name, c := range cases {
		a := minimalAgent()
		c.mutate(a)
		err := a.Check()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Check() = %v, want mention of %q", name, err, c.want)
		}
	}
}

func TestCheckAcceptsTimeoutsForBuiltinActions(t *testing.T) {
	a := minimalAgent()
	a.Timeouts = map[string]time.Duration{ActionMetaData: time.Second, ActionValidateAll: time.Second}
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
}
