package fence

import (
	"fmt"
	"io"
	"strings"
)

// wrap splits text into lines of at most width runes (longer words stay whole).
func wrap(text string, width int) []string {
	var lines []string
	var cur strings.Builder
	for _, w := range strings.Fields(text) {
		if cur.Len() > 0 && cur.Len()+1+len(w) > width {
			lines = append(lines, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(w)
	}
	if cur.Len() > 0 || len(lines) == 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

func (s *spec) helpText() string {
	d := s.Description
	if s.Default != "" && s.Name != OptAction {
		d += " (default " + s.Default + ")"
	}
	if s.Name == OptAction {
		d += ", default " + s.Default
	}
	if s.Required {
		d += " [required]"
	}
	return d
}

// writeUsage prints the -h text.
func (a *Agent) writeUsage(w io.Writer) {
	const col, width = 34, 80
	fmt.Fprintf(w, "Usage:\n\t%s [options]\n\t%s < key=value lines on stdin\nOptions:\n", a.Name, a.Name)
	for _, s := range a.optionSet().specs {
		if s.hidden {
			continue
		}
		m := s.mixed()
		if s.Name == OptPlug {
			m += " (or --port)"
		}
		lines := wrap(s.helpText(), width-col)
		first := "   " + m
		if len(first) >= col-1 {
			fmt.Fprintln(w, first)
			first = ""
		}
		for i, l := range lines {
			if i == 0 && first != "" {
				fmt.Fprintf(w, "%-*s %s\n", col-1, first, l)
				continue
			}
			fmt.Fprintf(w, "%*s%s\n", col, "", l)
		}
	}
	fmt.Fprintf(w, "On stdin each option is given as name=value (e.g. %s=...).\n", OptPowerTimeout)
}

// roff escapes text for a man page body line.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			l = `\&` + l
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// writeManpage prints a man(7) page generated from the declaration.
func (a *Agent) writeManpage(w io.Writer) {
	ver := a.Version
	if ver == "" {
		ver = "unknown"
	}
	fmt.Fprintf(w, ".TH %s 8 \"\" \"kvmha %s\" \"Fence agents\"\n", strings.ToUpper(a.Name), roff(ver))
	fmt.Fprintf(w, ".SH NAME\n%s \\- %s\n", roff(a.Name), roff(a.ShortDesc))
	fmt.Fprintf(w, ".SH SYNOPSIS\n.B %s\n[\\fIOPTIONS\\fR]\n.br\n.B %s\n< \\fIname=value lines\\fR\n", roff(a.Name), roff(a.Name))
	fmt.Fprintf(w, ".SH DESCRIPTION\n%s\n", roff(a.LongDesc))
	if a.VendorURL != "" {
		fmt.Fprintf(w, ".PP\nVendor URL: %s\n", roff(a.VendorURL))
	}
	fmt.Fprintf(w, ".SH OPTIONS\n")
	for _, s := range a.optionSet().specs {
		if s.hidden {
			continue
		}
		fmt.Fprintf(w, ".TP\n.B %s\n%s\n", roff(s.mixed()), roff(s.helpText()))
		keys := make([]string, len(s.keys))
		for i, k := range s.keys {
			keys[i] = `\fB` + roff(k) + `\fR`
		}
		fmt.Fprintf(w, ".br\nOn stdin: %s\n", strings.Join(keys, " or "))
	}
	fmt.Fprintf(w, ".SH ACTIONS\n")
	for _, act := range a.actions() {
		fmt.Fprintf(w, ".TP\n.B %s\n%s\n", roff(act), roff(actionHelp[act]))
	}
	fmt.Fprintf(w, ".SH TIMEOUTS\n%s\n", roff("Each run has one deadline: power_wait + 2 x power_timeout for on and off, "+
		"twice that for reboot, power_timeout for the other actions, plus delay for off and reboot "+
		"(unless the agent sets its own budget for an action). An action still running one second "+
		"after its deadline is abandoned and the agent exits with status 1."))
	fmt.Fprintf(w, ".SH EXIT STATUS\n0 on success, 1 on failure; for status 0 when on, 2 when off, 1 when unknown.\n")
}

var actionHelp = map[string]string{
	ActionOn:          "Power the plug on (unfence the local node for unfencing agents).",
	ActionOff:         "Power the plug off and wait until it is off.",
	ActionReboot:      "Power the plug off, then on.",
	ActionStatus:      "Print the power status of the plug.",
	ActionList:        "List the plugs of the device.",
	ActionListStatus:  "List the plugs of the device with their power status.",
	ActionMonitor:     "Check that the device is reachable.",
	ActionMetadata:    "Print the agent's XML meta-data.",
	ActionManpage:     "Print this manual page.",
	ActionValidateAll: "Check the options without touching the device.",
}
