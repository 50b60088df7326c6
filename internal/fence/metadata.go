package fence

import (
	"io"

	"github.com/beevik/etree"
)

func boolAttr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// metadataDocument builds the fence-agents meta-data document. It follows
// /usr/share/cluster/relaxng/metadata.rng: every parameter has getopt,
// content and shortdesc; actions are those the agent supports.
func (a *Agent) metadataDocument() *etree.Document {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" `)
	ra := doc.CreateElement("resource-agent")
	ra.CreateAttr("name", a.Name)
	ra.CreateAttr("shortdesc", a.ShortDesc)
	ra.CreateElement("longdesc").SetText(a.LongDesc)
	ra.CreateElement("vendor-url").SetText(a.VendorURL)

	params := ra.CreateElement("parameters")
	for _, s := range a.optionSet().specs {
		if s.hidden {
			continue
		}
		required := s.Required
		if s.Name == OptPlug {
			required = !a.NoPlug
		}
		p := addParameter(params, s.Name, &s.Option, required)
		if len(s.Aliases) > 0 {
			p.CreateAttr("obsoletes", s.Aliases[0])
		}
		for _, alias := range s.Aliases {
			d := addParameter(params, alias, &s.Option, required)
			d.CreateAttr("deprecated", "1")
		}
	}

	acts := ra.CreateElement("actions")
	for _, name := range a.actions() {
		e := acts.CreateElement("action")
		e.CreateAttr("name", name)
		if name == ActionOn {
			if a.Unfencing {
				e.CreateAttr("on_target", "1")
			}
			e.CreateAttr("automatic", boolAttr(a.Unfencing))
		}
	}
	doc.Indent(2)
	return doc
}

func addParameter(parent *etree.Element, name string, o *Option, required bool) *etree.Element {
	p := parent.CreateElement("parameter")
	p.CreateAttr("name", name)
	p.CreateAttr("unique", "0")
	p.CreateAttr("required", boolAttr(required))
	p.CreateElement("getopt").CreateAttr("mixed", o.mixed())
	c := p.CreateElement("content")
	if len(o.Choices) > 0 {
		c.CreateAttr("type", "select")
	} else {
		c.CreateAttr("type", o.Type.String())
	}
	if o.Default != "" {
		c.CreateAttr("default", o.Default)
	}
	for _, ch := range o.Choices {
		c.CreateElement("option").CreateAttr("value", ch)
	}
	sd := p.CreateElement("shortdesc")
	sd.CreateAttr("lang", "en")
	sd.SetText(o.Description)
	return p
}

// WriteMetadata writes the agent's meta-data XML.
func (a *Agent) WriteMetadata(w io.Writer) error {
	_, err := a.metadataDocument().WriteTo(w)
	return err
}
