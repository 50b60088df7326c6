package doctor

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/hostcmd"
)

// cibConfig is what the fencing checks read of a CIB: the cluster options
// and every primitive with its class, agent and attributes.
type cibConfig struct {
	props      map[string]string
	primitives []cibPrimitive
	// notes are parts of the configuration read only in part (a set of
	// values under a rule, which only the scheduler can evaluate).
	notes []string
}

// cibPrimitive is one primitive, templates resolved.
type cibPrimitive struct {
	id, class, provider, agent string
	params, meta               map[string]string
}

// maxCIBElements bounds the elements walked: a CIB of a few hundred
// resources has some ten thousand.
const maxCIBElements = 1 << 20

// parseCIBConfig reads cibadmin --query's output (a <cib>, or the
// <configuration> that --scope configuration prints).
func parseCIBConfig(data []byte) (*cibConfig, error) {
	if len(data) > hostcmd.MaxCIB {
		return nil, fmt.Errorf("larger than %d bytes", hostcmd.MaxCIB)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("not well-formed XML: %s", agentlog.Clip(strings.Join(strings.Fields(err.Error()), " ")))
	}
	root := doc.Root()
	if root == nil {
		return nil, errors.New("no XML element")
	}
	cfg := root
	switch root.Tag {
	case "cib":
		if cfg = root.SelectElement("configuration"); cfg == nil {
			return nil, errors.New("the CIB has no configuration section")
		}
	case "configuration":
	default:
		return nil, fmt.Errorf("the root element is <%s>, not <cib>", agentlog.Clip(root.FullTag()))
	}
	r := &cibReader{ids: map[string]*etree.Element{}, c: &cibConfig{}}
	if err := r.index(cfg); err != nil {
		return nil, err
	}
	r.c.props = r.values(cfg.SelectElement("crm_config"), "cluster_property_set", "cluster options")
	if res := cfg.SelectElement("resources"); res != nil {
		r.resources(res, 0)
	}
	return r.c, nil
}

type cibReader struct {
	ids map[string]*etree.Element // elements by id, for id-ref and templates
	c   *cibConfig
}

// index records every element with an id, iteratively (a hostile CIB may
// nest deeper than a recursion should go) and bounded.
func (r *cibReader) index(cfg *etree.Element) error {
	stack, n := []*etree.Element{cfg}, 0
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n++; n > maxCIBElements {
			return fmt.Errorf("more than %d elements in the configuration", maxCIBElements)
		}
		if id := e.SelectAttrValue("id", ""); id != "" && e.SelectAttr("id-ref") == nil {
			if _, dup := r.ids[id]; !dup {
				r.ids[id] = e
			}
		}
		stack = append(stack, e.ChildElements()...)
	}
	return nil
}

// deref follows an id-ref to the element of the same kind it names.
func (r *cibReader) deref(e *etree.Element) *etree.Element {
	ref := e.SelectAttr("id-ref")
	if ref == nil {
		return e
	}
	if t := r.ids[ref.Value]; t != nil && t.Tag == e.Tag {
		return t
	}
	return nil
}

// values merges the sets called tag under e as Pacemaker does: higher
// score first, the first value of a name wins. A set with a rule holds
// only while the rule does: it is left out, and noted.
func (r *cibReader) values(e *etree.Element, tag, owner string) map[string]string {
	m := map[string]string{}
	if e == nil {
		return m
	}
	type set struct {
		e     *etree.Element
		score int
	}
	var sets []set
	for _, s := range e.SelectElements(tag) {
		t := r.deref(s)
		if t == nil {
			continue
		}
		if t.SelectElement("rule") != nil {
			r.c.notes = append(r.c.notes, fmt.Sprintf("%s: the %s %s has a rule and was not read", owner, tag, agentlog.Clip(t.SelectAttrValue("id", ""))))
			continue
		}
		score, _ := strconv.Atoi(t.SelectAttrValue("score", "0"))
		sets = append(sets, set{t, score})
	}
	sort.SliceStable(sets, func(i, j int) bool { return sets[i].score > sets[j].score })
	for _, s := range sets {
		for _, nv := range s.e.SelectElements("nvpair") {
			if nv = r.deref(nv); nv == nil {
				continue
			}
			name, value := nv.SelectAttrValue("name", ""), nv.SelectAttr("value")
			if name == "" || value == nil {
				continue
			}
			if _, seen := m[name]; !seen {
				m[name] = value.Value
			}
		}
	}
	return m
}

// maxResourceDepth bounds the nesting of groups, clones and bundles
// followed (Pacemaker allows three levels).
const maxResourceDepth = 8

// resources collects the primitives under e: alone, in groups, clones,
// promotable clones and bundles.
func (r *cibReader) resources(e *etree.Element, depth int) {
	if depth > maxResourceDepth {
		return
	}
	for _, ch := range e.ChildElements() {
		switch ch.Tag {
		case "primitive":
			r.c.primitives = append(r.c.primitives, r.primitive(ch))
		case "group", "clone", "master", "bundle":
			r.resources(ch, depth+1)
		}
	}
}

// primitive reads one primitive; a template gives what the primitive does
// not say itself (its class and agent, and attributes not set here).
func (r *cibReader) primitive(e *etree.Element) cibPrimitive {
	p := cibPrimitive{
		id:       e.SelectAttrValue("id", ""),
		class:    e.SelectAttrValue("class", ""),
		provider: e.SelectAttrValue("provider", ""),
		agent:    e.SelectAttrValue("type", ""),
	}
	owner := "resource " + agentlog.Clip(p.id)
	p.params = r.values(e, "instance_attributes", owner)
	p.meta = r.values(e, "meta_attributes", owner)
	if name := e.SelectAttrValue("template", ""); name != "" {
		if t := r.ids[name]; t != nil && t.Tag == "template" {
			if p.class == "" {
				p.class, p.provider, p.agent = t.SelectAttrValue("class", ""), t.SelectAttrValue("provider", ""), t.SelectAttrValue("type", "")
			}
			for k, v := range r.values(t, "instance_attributes", owner) {
				if _, set := p.params[k]; !set {
					p.params[k] = v
				}
			}
			for k, v := range r.values(t, "meta_attributes", owner) {
				if _, set := p.meta[k]; !set {
					p.meta[k] = v
				}
			}
		}
	}
	return p
}

// stopped reports whether the primitive is configured not to run
// (target-role=Stopped): a fence device so configured is not used.
func (p cibPrimitive) stopped() bool {
	return strings.EqualFold(strings.TrimSpace(p.meta["target-role"]), "stopped")
}

// pacemakerFalse reads Pacemaker's false spellings (crm_is_true's others).
func pacemakerFalse(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "false", "off", "no", "n", "0":
		return true
	}
	return false
}
