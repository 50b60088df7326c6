package manpage

import (
	"fmt"
	"strings"
)

// KV is one name=value pair of an example.
type KV struct{ Key, Value string }

// Op is one operation of an example: a monitor with its interval, timeout
// and depth (OCF_CHECK_LEVEL), or another action with its timeout.
type Op struct {
	Name     string
	Interval string
	Timeout  string
	Depth    int
}

// Example is one configuration, rendered both as pcs and as crm commands.
type Example struct {
	Title  string // one sentence saying what it shows
	ID     string // resource or fence device id
	Params []KV   // agent parameters: each must be declared (fence: or start with pcmk_)
	Meta   []KV   // meta attributes
	Ops    []Op   // OCF: nil means the agent's advertised monitors
	Clone  bool   // run a copy on every node (interleave=true)
}

// Agent is what an example is for: "ocf:kvmha:rbd" or "stonith:fence_rbd".
type agentRef struct {
	class string // "ocf" or "stonith"
	name  string // ocf:kvmha:rbd or fence_rbd
}

// shellWord quotes a command-line word when the shell would change it.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+,=-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func kv(p KV) string { return p.Key + "=" + shellWord(p.Value) }

// opWords renders an op's attributes the way pcs and crm both take them.
func opWords(o Op) string {
	w := []string{o.Name}
	if o.Interval != "" {
		w = append(w, "interval="+o.Interval)
	}
	if o.Timeout != "" {
		w = append(w, "timeout="+o.Timeout)
	}
	if o.Depth != 0 {
		w = append(w, fmt.Sprintf("OCF_CHECK_LEVEL=%d", o.Depth))
	}
	return strings.Join(w, " ")
}

// continued joins command lines with shell continuations.
func continued(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if i < len(lines)-1 {
			l += ` \`
		}
		out[i] = l
	}
	return out
}

// group renders pairs on indented lines of at most lineWidth characters,
// the first one after prefix (params, meta), or nothing when empty.
func group(prefix string, pairs []KV) []string {
	if len(pairs) == 0 {
		return nil
	}
	const lineWidth = 76
	first, cont := "    ", "    "
	if prefix != "" {
		first += prefix + " "
		cont += strings.Repeat(" ", len(prefix)+1)
	}
	var lines []string
	cur, empty := first, true
	for _, p := range pairs {
		w := kv(p)
		if !empty && len(cur)+1+len(w) > lineWidth {
			lines = append(lines, cur)
			cur, empty = cont, true
		}
		if !empty {
			cur += " "
		}
		cur += w
		empty = false
	}
	return append(lines, cur)
}

// pcsLines renders an example as one pcs command.
func (e Example) pcsLines(a agentRef) []string {
	var lines []string
	if a.class == "stonith" {
		lines = append(lines, fmt.Sprintf("pcs stonith create %s %s", shellWord(e.ID), a.name))
	} else {
		lines = append(lines, fmt.Sprintf("pcs resource create %s %s", shellWord(e.ID), a.name))
	}
	lines = append(lines, group("", e.Params)...)
	lines = append(lines, group("meta", e.Meta)...)
	for _, o := range e.Ops {
		lines = append(lines, "    op "+opWords(o))
	}
	if e.Clone {
		lines = append(lines, "    clone interleave=true")
	}
	return continued(lines)
}

// crmLines renders an example as crm configure commands.
func (e Example) crmLines(a agentRef) []string {
	name := a.name
	if a.class == "stonith" {
		name = "stonith:" + a.name
	}
	lines := []string{fmt.Sprintf("crm configure primitive %s %s", shellWord(e.ID), name)}
	lines = append(lines, group("params", e.Params)...)
	lines = append(lines, group("meta", e.Meta)...)
	for _, o := range e.Ops {
		lines = append(lines, "    op "+opWords(o))
	}
	out := continued(lines)
	if e.Clone {
		out = append(out, fmt.Sprintf("crm configure clone %s %s meta interleave=true", shellWord(e.ID+"-clone"), shellWord(e.ID)))
	}
	return out
}

// Commands returns an example's pcs and crm commands, one shell line each
// (continuations joined): what a test runs against a scratch CIB.
func (e Example) Commands(class, name string) (pcs, crm []string) {
	a := agentRef{class: class, name: name}
	return joinContinued(e.pcsLines(a)), joinContinued(e.crmLines(a))
}

func joinContinued(lines []string) []string {
	var out []string
	var cur strings.Builder
	for _, l := range lines {
		if strings.HasSuffix(l, ` \`) {
			cur.WriteString(strings.TrimSpace(strings.TrimSuffix(l, ` \`)) + " ")
			continue
		}
		cur.WriteString(strings.TrimSpace(l))
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}

// examples writes the EXAMPLES section.
func (p *page) examples(a agentRef, exs []Example) {
	if len(exs) == 0 {
		return
	}
	p.req("SH", "EXAMPLES")
	for i, e := range exs {
		if i > 0 {
			p.req("PP")
		}
		p.text(e.Title, false)
		p.req("PP")
		p.line("With " + bold("pcs") + ":")
		p.example(e.pcsLines(a))
		p.req("PP")
		p.line("With " + bold("crm") + ":")
		p.example(e.crmLines(a))
	}
}
