package manpage

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kvmha/kvmha/internal/fence"
)

// SbinDir is where fence agents and the kvmha command are installed.
const SbinDir = "/usr/sbin"

// FenceExtras is what a fence agent's page has besides its declaration.
type FenceExtras struct {
	Examples []Example
	Sections []Section // after EXAMPLES
	SeeAlso  []string
}

// Fence renders the section 8 page of a fence agent.
func Fence(d fence.Doc, x FenceExtras) ([]byte, error) {
	if err := checkFence(d, x); err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	var p page
	p.header(d.Name, 8, "kvmha", "Fence agents", d.ShortDesc)

	p.req("SH", "SYNOPSIS")
	p.line(bold(d.Name) + " [" + italic("OPTIONS") + "]")
	p.req("br")
	p.line(bold(d.Name) + " < " + italic("name=value lines"))

	p.req("SH", "DESCRIPTION")
	p.text(d.LongDesc, false)
	p.req("PP")
	p.line(esc("Pacemaker's fencer runs the agent with its options as name=value lines on stdin; "+
		"on the command line the same options are flags. Without an action option the agent runs "+d.DefaultAction+".") +
		unfencingNote(d))
	if d.Version != "" {
		p.req("PP")
		p.line(esc("This page describes version " + d.Version + " of the agent."))
	}

	p.req("SH", "OPTIONS")
	for _, o := range d.Options {
		p.req("TP")
		p.line(bold(o.Flags))
		desc := o.Description
		var facts []string
		if o.Default != "" && o.Name != fence.OptAction {
			facts = append(facts, "default "+o.Default)
		}
		if o.Required {
			facts = append(facts, "required")
		}
		if len(o.Choices) > 0 {
			facts = append(facts, "one of "+strings.Join(o.Choices, ", "))
		}
		if o.Secret {
			facts = append(facts, "secret: never logged")
		}
		if len(facts) > 0 {
			desc += " (" + strings.Join(facts, "; ") + ")"
		}
		p.line(esc(ensureStop(desc)))
		p.req("br")
		keys := make([]string, len(o.Keys))
		for i, k := range o.Keys {
			keys[i] = bold(k)
		}
		p.line("On stdin: " + strings.Join(keys, " or "))
	}

	p.req("SH", "ACTIONS")
	for _, a := range d.Actions {
		p.req("TP")
		p.line(bold(a.Name))
		p.line(esc(a.Help))
	}

	p.examples(agentRef{class: "stonith", name: d.Name}, x.Examples)
	p.sections(x.Sections)

	p.req("SH", "TIMEOUTS")
	p.text("Each run has one deadline: power_wait + 2 x power_timeout for on and off, twice that for reboot, "+
		"power_timeout for the other actions, plus delay for off and reboot (unless the agent sets its own budget "+
		"for an action). An action still running one second after its deadline is abandoned and the agent exits "+
		"with status 1. Give Pacemaker's pcmk_off_timeout and pcmk_reboot_timeout at least that much.", false)

	p.req("SH", `"EXIT STATUS"`)
	p.line("0 on success, 1 on failure; for " + bold("status") + ": 0 when on, 2 when off, 1 when unknown.")

	p.req("SH", "FILES")
	p.req("TP")
	p.line(italic(SbinDir + "/" + d.Name))
	p.line("The agent.")

	refs := append([]string{}, x.SeeAlso...)
	refs = append(refs, "stonith_admin(8)", "pacemaker-fenced(7)", "pcs(8)", "crm(8)")
	p.seeAlso(refs)
	return []byte(p.b.String()), nil
}

func unfencingNote(d fence.Doc) string {
	if !d.Unfencing {
		return ""
	}
	return esc(" This is a fabric fencing agent: its on action unfences the node it runs on; configure the device " +
		"with meta provides=unfencing.")
}

func ensureStop(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

// checkFence refuses examples with options the agent does not have.
func checkFence(d fence.Doc, x FenceExtras) error {
	known := map[string]bool{}
	for _, o := range d.Options {
		known[o.Name] = true
		for _, k := range o.Keys {
			known[k] = true
		}
		for _, name := range o.Deprecated {
			known[name] = true
		}
	}
	var errs []error
	for _, e := range x.Examples {
		if e.ID == "" {
			errs = append(errs, errors.New("an example has no id"))
		}
		if e.Clone {
			errs = append(errs, fmt.Errorf("example %q: fence devices are not cloned", e.ID))
		}
		for _, p := range e.Params {
			if !known[p.Key] && !strings.HasPrefix(p.Key, "pcmk_") {
				errs = append(errs, fmt.Errorf("example %q: option %s is not declared", e.ID, p.Key))
			}
		}
	}
	return errors.Join(errs...)
}
