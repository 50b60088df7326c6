package manpage

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/ocf"
)

// OCFDir is where the OCF agents of provider kvmha are installed.
const OCFDir = "/usr/lib/ocf/resource.d/kvmha"

// Migration describes how users of the agent a kvmha agent replaces switch.
type Migration struct {
	From string // the agent replaced, e.g. ocf:heartbeat:VirtualDomain
	// FromParams are the replaced agent's parameters; each must be declared
	// here too (the kvmha agent is a superset).
	FromParams []string
	Intro      string // what stays the same
	// Differences are per-parameter (Key is a declared parameter, shown in
	// bold) or per-topic notes, in order.
	Differences []KV
	// ID is the resource id the switch procedure's commands use.
	ID string
}

// OCFExtras is what an OCF agent's page has besides its declaration.
type OCFExtras struct {
	Examples  []Example
	Migration []Migration
	Sections  []Section // after MIGRATION, before EXIT STATUS
	SeeAlso   []string  // "ocf_heartbeat_VirtualDomain(7)"
}

// OCFPageName is the page name of an OCF agent: ocf_kvmha_VirtualDomain.
func OCFPageName(agent string) string { return "ocf_kvmha_" + agent }

var actionText = map[string]string{
	ocf.ActionStart:       "Start the resource.",
	ocf.ActionStop:        "Stop the resource.",
	ocf.ActionMonitor:     "Check the resource's state.",
	ocf.ActionStatus:      "Check the resource's state (an alias of monitor).",
	ocf.ActionPromote:     "Promote the resource.",
	ocf.ActionDemote:      "Demote the resource.",
	ocf.ActionNotify:      "Take a clone notification.",
	ocf.ActionMigrateTo:   "Migrate the resource to the target node (live).",
	ocf.ActionMigrateFrom: "Complete a migration on the target node.",
	ocf.ActionReload:      "Apply changed parameters without a restart.",
	ocf.ActionValidateAll: "Check the parameters and this node's setup without changing anything.",
	ocf.ActionMetaData:    "Print the agent's meta-data XML.",
}

// OCF renders the section 7 page of an OCF agent.
func OCF(d ocf.Doc, x OCFExtras) ([]byte, error) {
	if err := checkOCF(d, x); err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	var p page
	name := OCFPageName(d.Name)
	p.header(name, 7, "kvmha", "OCF resource agents", d.ShortDesc)

	p.req("SH", "SYNOPSIS")
	var acts []string
	seen := map[string]bool{}
	for _, a := range d.Actions {
		if !seen[a.Name] {
			seen[a.Name] = true
			acts = append(acts, a.Name)
		}
	}
	p.line(bold("ocf:kvmha:"+d.Name) + " (" + italic(OCFDir+"/"+d.Name) + ")")
	p.req("br")
	p.line(esc("OCF_RESKEY_") + italic("parameter") + "=" + italic("value") + " ... " +
		bold(OCFDir+"/"+d.Name) + " {" + esc(strings.Join(acts, " | ")) + "}")

	p.req("SH", "DESCRIPTION")
	long := d.LongDesc
	if long == "" {
		long = d.ShortDesc
	}
	p.text(long, false)
	if d.Version != "" {
		p.req("PP")
		p.line(esc("This page describes version " + d.Version + " of the agent."))
	}

	p.req("SH", "PARAMETERS")
	if len(d.Params) == 0 {
		p.line("This agent takes no parameters.")
	}
	for _, prm := range d.Params {
		p.req("TP")
		p.line(bold(prm.Name) + " (" + esc(paramFacts(prm)) + ")")
		desc := prm.LongDesc
		if desc == "" {
			desc = prm.ShortDesc
		}
		if len(prm.Choices) > 0 {
			desc = strings.TrimRight(desc, " \n") + "\n\nAllowed values: " + strings.Join(prm.Choices, ", ") + "."
		}
		if prm.Secret {
			desc = strings.TrimRight(desc, " \n") + "\n\nA secret: its value is never logged."
		}
		p.text(desc, true)
	}

	p.req("SH", "ACTIONS")
	p.line("Default timeouts as the meta-data advertises them; configure longer ones with " +
		bold("op") + " when your setup needs them.")
	for _, a := range d.Actions {
		p.req("TP")
		p.line(bold(a.Name) + " (" + esc(actionFacts(a)) + ")")
		if t, ok := actionText[a.Name]; ok {
			p.line(esc(t))
		}
	}

	ref := agentRef{class: "ocf", name: "ocf:kvmha:" + d.Name}
	exs := append([]Example(nil), x.Examples...)
	if len(exs) == 0 {
		exs = []Example{defaultExample(d)}
	}
	for i := range exs {
		if exs[i].Ops == nil {
			exs[i].Ops = AdvertisedMonitors(d)
		}
	}
	p.examples(ref, exs)

	for _, m := range x.Migration {
		p.migration(d, m)
	}
	p.sections(x.Sections)

	p.req("SH", "ENVIRONMENT")
	p.req("TP")
	p.line(bold("OCF_RESKEY_") + italic("parameter"))
	p.line("Each parameter, as Pacemaker passes it.")
	p.req("TP")
	p.line(bold("OCF_RESKEY_CRM_meta_timeout"))
	p.line("The action's timeout in milliseconds; the agent ends every action before it.")
	p.req("TP")
	p.line(bold("OCF_CHECK_LEVEL"))
	p.line("The depth of a monitor (0 unless the monitor operation sets it).")

	p.req("SH", `"EXIT STATUS"`)
	p.line("The OCF codes: 0 success (running, for monitor), 1 generic error, 2 invalid arguments, " +
		"3 unimplemented action, 4 insufficient privileges, 5 a needed program or module is missing on this node, " +
		"6 invalid configuration, 7 not running. " +
		"A failure also prints one " + bold("ocf-exit-reason:") + " line, which Pacemaker shows in " +
		bold("crm_mon") + " and " + bold("pcs status") + ".")

	p.req("SH", "FILES")
	p.req("TP")
	p.line(italic(OCFDir + "/" + d.Name))
	p.line("The agent.")

	refs := append([]string{}, x.SeeAlso...)
	refs = append(refs, "crm_resource(8)", "pcs(8)", "crm(8)")
	p.seeAlso(refs)
	return []byte(p.b.String()), nil
}

func paramFacts(prm ocf.Param) string {
	facts := []string{prm.Type.String()}
	if prm.Default != "" {
		facts = append(facts, "default "+prm.Default)
	}
	if prm.Required {
		facts = append(facts, "required")
	}
	if prm.Unique {
		facts = append(facts, "unique")
	}
	return strings.Join(facts, ", ")
}

func actionFacts(a ocf.ActionDoc) string {
	facts := []string{"timeout " + duration(a.Timeout)}
	if a.Name == ocf.ActionMonitor {
		facts = append(facts, "interval "+duration(a.Interval), "depth "+strconv.Itoa(a.Depth))
		if a.Role != "" {
			facts = append(facts, "role "+a.Role)
		}
	}
	return strings.Join(facts, ", ")
}

// duration writes a duration as meta-data does: "20s", else milliseconds.
func duration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10) + "ms"
}

// AdvertisedMonitors are the monitor operations the meta-data advertises: what an
// example without Ops configures.
func AdvertisedMonitors(d ocf.Doc) []Op {
	var ops []Op
	for _, a := range d.Actions {
		if a.Name == ocf.ActionMonitor && a.Role == "" {
			ops = append(ops, Op{Name: "monitor", Interval: duration(a.Interval), Timeout: duration(a.Timeout), Depth: a.Depth})
		}
	}
	return ops
}

// defaultExample configures the required parameters with placeholders.
func defaultExample(d ocf.Doc) Example {
	e := Example{Title: "A resource with the required parameters only (replace the values in capitals).",
		ID: strings.ToLower(d.Name) + "1"}
	for _, prm := range d.Params {
		if prm.Required {
			e.Params = append(e.Params, KV{prm.Name, strings.ToUpper(prm.Name)})
		}
	}
	return e
}

func declared(d ocf.Doc) map[string]bool {
	m := map[string]bool{}
	for _, prm := range d.Params {
		m[prm.Name] = true
	}
	return m
}

// checkOCF refuses extras that name parameters the agent does not declare.
func checkOCF(d ocf.Doc, x OCFExtras) error {
	known := declared(d)
	var errs []error
	for _, e := range x.Examples {
		for _, p := range e.Params {
			if !known[p.Key] {
				errs = append(errs, fmt.Errorf("example %q: parameter %s is not declared", e.ID, p.Key))
			}
		}
		if e.ID == "" {
			errs = append(errs, errors.New("an example has no id"))
		}
	}
	for _, m := range x.Migration {
		for _, name := range m.FromParams {
			if !known[name] {
				errs = append(errs, fmt.Errorf("migration from %s: its parameter %s is not declared", m.From, name))
			}
		}
		for _, diff := range m.Differences {
			if isParamName(diff.Key) && !known[diff.Key] {
				errs = append(errs, fmt.Errorf("migration from %s: note on %s, which is not declared", m.From, diff.Key))
			}
		}
		if m.ID == "" {
			errs = append(errs, fmt.Errorf("migration from %s has no resource id", m.From))
		}
	}
	return errors.Join(errs...)
}

// isParamName tells a parameter key (lower case, digits, underscores) from a
// topic ("Performance").
func isParamName(s string) bool {
	return s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == ""
}

// migration writes a MIGRATION FROM section with its switch procedure.
func (p *page) migration(d ocf.Doc, m Migration) {
	p.req("SH", quoteArg("MIGRATION FROM "+strings.ToUpper(m.From)))
	p.text(m.Intro, false)
	if len(m.Differences) > 0 {
		p.req("PP")
		p.line("What differs:")
		for _, diff := range m.Differences {
			p.req("TP")
			if isParamName(diff.Key) {
				p.line(bold(diff.Key))
			} else {
				p.line(esc(diff.Key))
			}
			p.text(diff.Value, true)
		}
	}
	from := map[string]bool{}
	for _, n := range m.FromParams {
		from[n] = true
	}
	var added []string
	for _, prm := range d.Params {
		if !from[prm.Name] {
			added = append(added, prm.Name)
		}
	}
	if len(added) > 0 {
		p.req("PP")
		p.line(esc("Parameters " + m.From + " does not have (see PARAMETERS): " + strings.Join(added, ", ") + "."))
	}
	id := m.ID
	p.req("SS", quoteArg("Switching a running resource"))
	p.line(esc("Install kvmha on every node first. Changing the agent of a resource makes Pacemaker restart it, unless " +
		"the resource is unmanaged while it changes and its history is refreshed, so that the new agent's probe finds it " +
		"running where it runs. With pcs:"))
	p.example(SwitchSteps("pcs", id, d.Name))
	p.req("PP")
	p.line("With " + bold("crm") + ":")
	p.example(SwitchSteps("crm", id, d.Name))
	p.req("PP")
	p.line(esc("Manage it again only once the status shows it started by the new agent on the node it runs on; " +
		"a resource the new agent does not find running would be started, or stopped elsewhere. To go back, " +
		"do the same with provider=\"" + providerOf(m.From) + "\"."))
}

// SwitchSteps are the shell lines that switch the running resource id to
// ocf:kvmha:agent with pcs or crm ("pcs" or "crm") without restarting it; the
// fourth line shows the status to wait for before the last one manages the
// resource again.
func SwitchSteps(tool, id, agent string) []string {
	modify := fmt.Sprintf("cibadmin --modify --xml-text '<primitive id=\"%s\" provider=\"kvmha\" type=\"%s\"/>'", id, agent)
	if tool == "crm" {
		return []string{
			"crm resource unmanage " + id,
			modify,
			"crm resource refresh " + id,
			"crm_mon -1              # " + id + " (ocf:kvmha:" + agent + "): Started ... (unmanaged)",
			"crm resource manage " + id,
		}
	}
	return []string{
		"pcs resource unmanage " + id,
		modify,
		"pcs resource refresh " + id,
		"pcs status resources    # " + id + " (ocf:kvmha:" + agent + "): Started ... (unmanaged)",
		"pcs resource manage " + id,
	}
}

// providerOf returns the provider of "ocf:heartbeat:VirtualDomain".
func providerOf(agent string) string {
	parts := strings.Split(agent, ":")
	if len(parts) == 3 {
		return parts[1]
	}
	return agent
}
