package capacity

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/beevik/etree"
	"github.com/kvmha/kvmha/internal/hostcmd"
)

// MaxCIBSize bounds what ParseCIB and ApplyCrmMon read: as much as cibadmin and
// crm_mon may print.
const MaxCIBSize = hostcmd.MaxCIB

// Placement strategies Pacemaker knows; anything else means "default".
var strategies = map[string]bool{"default": true, "utilization": true, "minimal": true, "balanced": true}

// ParseCIB reads a CIB as cibadmin --query prints it: the configuration and,
// from the status section, which nodes are online and where the resources
// run. See the package documentation for what is read and what is ignored.
func ParseCIB(data []byte) (*Cluster, error) {
	root, err := readXML(data, "cib")
	if err != nil {
		return nil, fmt.Errorf("CIB: %w", err)
	}
	cfg := root.SelectElement("configuration")
	if cfg == nil {
		return nil, errors.New("CIB: no configuration section")
	}
	r := newConfigReader(cfg)
	symmetric := r.options(cfg.SelectElement("crm_config"))
	if err := r.nodes(cfg.SelectElement("nodes")); err != nil {
		return nil, fmt.Errorf("CIB: %w", err)
	}
	if err := r.resources(cfg.SelectElement("resources")); err != nil {
		return nil, fmt.Errorf("CIB: %w", err)
	}
	r.constraints(cfg.SelectElement("constraints"), symmetric)
	if st := root.SelectElement("status"); st != nil {
		r.status(st)
	} else {
		r.c.warn("the CIB has no status section: no node is known to be online")
	}
	sortNodes(r.c)
	return r.c, nil
}

// readXML parses data and checks its root element.
func readXML(data []byte, roots ...string) (*etree.Element, error) {
	if len(data) > MaxCIBSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxCIBSize)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("not well-formed XML: %s", oneLine(err.Error()))
	}
	root := doc.Root()
	if root == nil {
		return nil, errors.New("no XML element")
	}
	for _, want := range roots {
		if root.Tag == want && root.Space == "" {
			return root, nil
		}
	}
	return nil, fmt.Errorf("the root element is <%s>, not <%s>", root.FullTag(), strings.Join(roots, "> or <"))
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// configReader reads the configuration section into a Cluster.
type configReader struct {
	c   *Cluster
	ids map[string]*etree.Element // every element with an id, for id-ref and templates
	// nodeAttrs are the nodes' permanent attributes (standby, maintenance).
	nodeAttrs map[string]map[string]string
	nodeByID  map[string]string // node id -> name, for node_state entries without uname
	owner     map[string]*Resource
}

func newConfigReader(cfg *etree.Element) *configReader {
	r := &configReader{c: &Cluster{Strategy: "default"}, ids: map[string]*etree.Element{},
		nodeAttrs: map[string]map[string]string{}, nodeByID: map[string]string{}, owner: map[string]*Resource{}}
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		if id := e.SelectAttrValue("id", ""); id != "" && e.SelectAttr("id-ref") == nil {
			if _, dup := r.ids[id]; !dup {
				r.ids[id] = e
			}
		}
		for _, ch := range e.ChildElements() {
			walk(ch)
		}
	}
	walk(cfg)
	return r
}

// deref follows an id-ref to the element it names (of the same kind).
func (r *configReader) deref(e *etree.Element) *etree.Element {
	ref := e.SelectAttr("id-ref")
	if ref == nil {
		return e
	}
	if t := r.ids[ref.Value]; t != nil && t.Tag == e.Tag {
		return t
	}
	return nil
}

// values merges the nvpair sets called tag directly under e the way
// Pacemaker does: sets with a higher score first, the first value of a name
// wins. A set with a rule is skipped: its values apply only while the rule
// holds, which cannot be evaluated here.
func (r *configReader) values(e *etree.Element, tag, owner string) map[string]string {
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
			r.c.warn(fmt.Sprintf("%s: %s refers to an unknown id and is ignored", owner, tag))
			continue
		}
		if t.SelectElement("rule") != nil {
			r.c.warn(fmt.Sprintf("%s: %s set %q has a rule and is ignored", owner, tag, t.SelectAttrValue("id", "")))
			continue
		}
		score, _ := parseScore(t.SelectAttrValue("score", "0"))
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

// utilization reads e's utilization sets.
func (r *configReader) utilization(e *etree.Element, owner string) (Amounts, error) {
	a := Amounts{}
	for name, value := range r.values(e, "utilization", owner) {
		v, err := parseAmount(owner, name, value)
		if err != nil {
			return nil, err
		}
		a[name] = v
	}
	return a, nil
}

// options reads placement-strategy and returns symmetric-cluster.
func (r *configReader) options(crmConfig *etree.Element) (symmetric bool) {
	opts := r.values(crmConfig, "cluster_property_set", "cluster options")
	if s, ok := opts["placement-strategy"]; ok {
		s = strings.ToLower(strings.TrimSpace(s))
		if strategies[s] {
			r.c.Strategy = s
		} else {
			r.c.warn(fmt.Sprintf("placement-strategy %q is not one Pacemaker knows; it uses \"default\"", s))
		}
	}
	symmetric = true
	if s, ok := opts["symmetric-cluster"]; ok {
		symmetric = isTrue(s)
	}
	return symmetric
}

// nodes reads the nodes section: names, capacities, permanent attributes.
func (r *configReader) nodes(nodes *etree.Element) error {
	if nodes == nil {
		return nil
	}
	for _, e := range nodes.SelectElements("node") {
		name := e.SelectAttrValue("uname", e.SelectAttrValue("id", ""))
		if name == "" {
			continue
		}
		if r.c.node(name) != nil {
			r.c.warn(fmt.Sprintf("node %s is listed twice; the first entry is used", name))
			continue
		}
		capacity, err := r.utilization(e, "node "+name)
		if err != nil {
			return err
		}
		r.c.Nodes = append(r.c.Nodes, &Node{Name: name, Capacity: capacity, State: Offline})
		r.nodeAttrs[name] = r.values(e, "instance_attributes", "node "+name)
		if id := e.SelectAttrValue("id", ""); id != "" {
			r.nodeByID[id] = name
		}
	}
	return nil
}
