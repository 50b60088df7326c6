package ocf

import (
	"strconv"
	"time"

	"github.com/beevik/etree"
)

// ocfVersion is the OCF standard version the agents implement. Pacemaker
// reads it to decide how to treat reloads: with 1.1 and no "reloadable"
// parameters (see below) any parameter change means a restart, never an
// in-place reload - the conservative choice for VMs.
const ocfVersion = "1.1"

// MetaData renders the agent's meta-data XML.
//
// The output must satisfy two schemas that disagree: ra-api-1.dtd (OCF 1.0,
// used by ocf-tester via "xmllint --valid") and pcs' ocf-1.1.rng. Verified on
// Debian 12 (resource-agents 4.12, pcs 0.11.5), the common ground is:
//
//   - element order version, longdesc, shortdesc, parameters, actions (the
//     DTD fixes the order; both want version first here);
//   - parameter attributes name, required, unique only, as "0"/"1"; the DTD
//     rejects reloadable and unique-group, and a <deprecated> child;
//   - content types string, integer, boolean (DTD also takes time, pcs also
//     percentage and select; the DTD rejects select);
//   - every action needs a timeout (DTD), and the DTD enumerates action
//     names: reload-agent is rejected, so it is never advertised;
//   - longdesc/shortdesc with lang="en" are accepted by both.
func (a *Agent) MetaData() string {
	doc := etree.NewDocument()
	doc.WriteSettings.CanonicalText = true
	doc.WriteSettings.CanonicalAttrVal = true
	doc.CreateProcInst("xml", `version="1.0"`)
	doc.CreateDirective(`DOCTYPE resource-agent SYSTEM "ra-api-1.dtd"`)

	root := doc.CreateElement("resource-agent")
	root.CreateAttr("name", a.Name)
	if a.Version != "" {
		root.CreateAttr("version", a.Version)
	}
	root.CreateElement("version").SetText(ocfVersion)
	longDesc := a.LongDesc
	if longDesc == "" {
		longDesc = a.ShortDesc
	}
	addDescriptions(root, longDesc, a.ShortDesc)

	params := root.CreateElement("parameters")
	for i := range a.Params {
		addParameter(params, &a.Params[i])
	}

	actions := root.CreateElement("actions")
	for _, act := range a.advertisedActions() {
		el := actions.CreateElement("action")
		el.CreateAttr("name", act.Name)
		el.CreateAttr("timeout", formatOCFDuration(act.Timeout))
		if act.Name == ActionMonitor {
			el.CreateAttr("interval", formatOCFDuration(act.Interval))
			el.CreateAttr("depth", strconv.Itoa(act.Depth))
		}
		if act.Role != "" {
			el.CreateAttr("role", act.Role)
		}
	}

	doc.Indent(2)
	out, err := doc.WriteToString()
	if err != nil {
		// Writing to a strings.Builder cannot fail; keep the contract simple.
		return ""
	}
	return out
}

func addDescriptions(parent *etree.Element, long, short string) {
	l := parent.CreateElement("longdesc")
	l.CreateAttr("lang", "en")
	l.SetText(long)
	s := parent.CreateElement("shortdesc")
	s.CreateAttr("lang", "en")
	s.SetText(short)
}

func addParameter(parent *etree.Element, p *Param) {
	el := parent.CreateElement("parameter")
	el.CreateAttr("name", p.Name)
	el.CreateAttr("required", boolAttr(p.Required))
	el.CreateAttr("unique", boolAttr(p.Unique))
	addDescriptions(el, p.longDescWithChoices(), p.ShortDesc)
	content := el.CreateElement("content")
	content.CreateAttr("type", p.Type.String())
	if p.Default != "" {
		content.CreateAttr("default", p.Default)
	}
}

func boolAttr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// formatOCFDuration writes a duration the way meta-data conventionally does
// ("20s"), falling back to milliseconds, which Pacemaker also understands.
func formatOCFDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	return strconv.FormatInt(int64(ms), 10) + "ms"
}
