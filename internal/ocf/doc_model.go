package ocf

import (
	"fmt"
	"strings"
	"time"
)

// Doc is the documentation model of an agent, shared by meta-data and the
// Markdown rendering so that man pages and docs never drift from the agent.
type Doc struct {
	Name      string
	Version   string
	ShortDesc string
	LongDesc  string
	Params    []Param
	Actions   []ActionDoc
}

// ActionDoc is one action as advertised in meta-data.
type ActionDoc struct {
	Name     string
	Timeout  time.Duration
	Interval time.Duration // monitors only
	Depth    int           // monitors only
	Role     string        // monitors only, optional
}

// Doc returns the agent's documentation model.
func (a *Agent) Doc() Doc {
	return Doc{
		Name:      a.Name,
		Version:   a.Version,
		ShortDesc: a.ShortDesc,
		LongDesc:  a.LongDesc,
		Params:    a.Params,
		Actions:   a.advertisedActions(),
	}
}

// advertisedActions lists what meta-data publishes, in a stable order.
func (a *Agent) advertisedActions() []ActionDoc {
	var out []ActionDoc
	for _, spec := range actionSpecs {
		if !spec.advertised || !a.implemented(spec) {
			continue
		}
		if spec.name != ActionMonitor {
			out = append(out, ActionDoc{Name: spec.name, Timeout: a.timeoutFor(spec.name)})
			continue
		}
		monitors := a.Monitors
		if len(monitors) == 0 {
			monitors = []MonitorOp{{Interval: defaultMonitorInterval}}
		}
		for _, m := range monitors {
			timeout := m.Timeout
			if timeout <= 0 {
				timeout = a.timeoutFor(ActionMonitor)
			}
			out = append(out, ActionDoc{Name: ActionMonitor, Timeout: timeout,
				Interval: m.Interval, Depth: m.Depth, Role: m.Role})
		}
	}
	return append(out, ActionDoc{Name: ActionMetaData, Timeout: a.timeoutFor(ActionMetaData)})
}

// Markdown renders the documentation as Markdown (suitable for go-md2man).
func (d Doc) Markdown() string {
	var b strings.Builder
	title := d.Name
	if d.Version != "" {
		title += " " + d.Version
	}
	fmt.Fprintf(&b, "# %s\n\n%s\n\n", title, d.ShortDesc)
	if d.LongDesc != "" {
		fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(d.LongDesc))
	}

	b.WriteString("## Parameters\n\n")
	if len(d.Params) == 0 {
		b.WriteString("This agent takes no parameters.\n\n")
	} else {
		b.WriteString("| Name | Type | Default | Required | Description |\n")
		b.WriteString("|------|------|---------|----------|-------------|\n")
		for _, p := range d.Params {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", p.Name, p.Type,
				tableCell(codeOrDash(p.Default)), yesNo(p.Required), tableCell(p.ShortDesc))
		}
		b.WriteString("\n")
		for _, p := range d.Params {
			fmt.Fprintf(&b, "### %s\n\n%s\n", p.Name, strings.TrimSpace(p.longDescWithChoices()))
			var notes []string
			if p.Unique {
				notes = append(notes, "must be unique across resources")
			}
			if p.Secret {
				notes = append(notes, "secret: never logged")
			}
			if len(notes) > 0 {
				fmt.Fprintf(&b, "\n*%s.*\n", strings.Join(notes, "; "))
			}
			b.WriteString("\n")
		}
	}

	b.WriteString("## Actions\n\n| Action | Timeout | Interval | Depth | Role |\n")
	b.WriteString("|--------|---------|----------|-------|------|\n")
	for _, act := range d.Actions {
		interval, depth := "-", "-"
		if act.Name == ActionMonitor {
			interval, depth = formatOCFDuration(act.Interval), fmt.Sprint(act.Depth)
		}
		role := act.Role
		if role == "" {
			role = "-"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", act.Name, formatOCFDuration(act.Timeout), interval, depth, role)
	}
	return b.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func codeOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return "`" + s + "`"
}

// tableCell keeps a value inside its Markdown table cell.
func tableCell(s string) string {
	return strings.ReplaceAll(flattenLine(s), "|", `\|`)
}
