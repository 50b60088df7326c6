package capacity

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/beevik/etree"
	"github.com/kvmha/kvmha/internal/hostcmd"
)

// MaxCIBSize bounds what ParseCIB and ApplyCrmMon read, and so kvmha capacity --cib.
// A CIB is mostly operation history: Pacemaker probes every resource on every node and
// keeps the result, about 850 bytes per resource and node, more where it runs (cibgen
// writes such histories). 32 nodes and 2,000 guests make 57 MB, 64 nodes and 5,000
// guests 271 MB, which the 64 MiB of hostcmd.MaxCIB refused; 512 MiB keeps room for
// longer histories at that size. Reading costs about twice the file's size in memory
// (the file and io.ReadAll's chunks) and a seventh more for the tree (xmltree.go).
const MaxCIBSize = 512 << 20

// MaxCIBSize must not refuse what cibadmin and crm_mon may print (hostcmd.MaxCIB): the
// constant would overflow here, and the build fail, if it did.
const _ = uint(MaxCIBSize - hostcmd.MaxCIB)

// Placement strategies Pacemaker knows; anything else means "default".
var strategies = map[string]bool{"default": true, "utilization": true, "minimal": true, "balanced": true}

// ParseCIB reads a CIB as cibadmin --query prints it: the configuration and,
// from the status section, which nodes are online and where the resources
// run. See the package documentation for what is read and what is ignored.
func ParseCIB(data []byte) (*Cluster, error) {
	root, err := parseXMLTree(data, "cib")
	if err != nil {
		return nil, fmt.Errorf("CIB: %w", err)
	}
	cfg := root.element("configuration")
	if cfg == nil {
		return nil, errors.New("CIB: no configuration section")
	}
	r := newConfigReader(cfg)
	symmetric := r.options(cfg.element("crm_config"))
	if err := r.nodes(cfg.element("nodes")); err != nil {
		return nil, fmt.Errorf("CIB: %w", err)
	}
	if err := r.resources(cfg.element("resources")); err != nil {
		return nil, fmt.Errorf("CIB: %w", err)
	}
	r.constraints(cfg.element("constraints"), symmetric)
	if st := root.element("status"); st != nil {
		r.status(st)
	} else {
		r.c.warn("the CIB has no status section: no node is known to be online")
	}
	sortNodes(r.c)
	return r.c, nil
}

// readXML parses data with etree and checks its root element: for crm_mon's XML, and
// for a CIB the fast parser leaves to etree.
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
	return nil, fmt.Errorf("the root element is <%s>, not <%s>", root.FullTag(), joinTags(roots))
}

func joinTags(tags []string) string { return strings.Join(tags, "> or <") }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// configReader reads the configuration section into a Cluster.
type configReader struct {
	c   *Cluster
	cfg *xnode
	ids map[string]*xnode // every element with an id, for id-ref and templates; see byID
	// nodeAttrs are the nodes' permanent attributes (standby, maintenance).
	nodeAttrs map[string]map[string]string
	nodeByID  map[string]string // node id -> name, for node_state entries without uname
	owner     map[string]*Resource
}

func newConfigReader(cfg *xnode) *configReader {
	return &configReader{c: &Cluster{Strategy: "default"}, cfg: cfg,
		nodeAttrs: map[string]map[string]string{}, nodeByID: map[string]string{}, owner: map[string]*Resource{}}
}

// byID returns the configuration's element with that id (the first, if several have
// it), or nil. The index is made when first needed: a configuration without id-refs and
// templates never needs it, and 2,000 guests give it 60,000 entries.
func (r *configReader) byID(id []byte) *xnode {
	if r.ids == nil {
		r.ids = map[string]*xnode{}
		keys := []string{"id", "id-ref"}
		vals := make([][]byte, 2)
		var walk func(e *xnode)
		walk = func(e *xnode) {
			if e.attrs(keys, vals); len(vals[0]) > 0 && vals[1] == nil {
				if _, dup := r.ids[string(vals[0])]; !dup {
					r.ids[string(vals[0])] = e
				}
			}
			for ch := range e.children() {
				walk(ch)
			}
		}
		walk(r.cfg)
	}
	return r.ids[string(id)]
}

// deref follows an id-ref to the element it names (of the same kind).
func (r *configReader) deref(e *xnode) *xnode {
	ref, ok := e.attrBytes("id-ref")
	if !ok {
		return e
	}
	if t := r.byID(ref); t != nil && bytes.Equal(t.tag(), e.tag()) {
		return t
	}
	return nil
}

// values merges the nvpair sets called tag directly under e the way
// Pacemaker does: sets with a higher score first, the first value of a name
// wins. A set with a rule is skipped: its values apply only while the rule
// holds, which cannot be evaluated here.
func (r *configReader) values(e *xnode, tag, owner string) map[string]string {
	m := map[string]string{}
	if e == nil {
		return m
	}
	type set struct {
		e     *xnode
		score int
	}
	var sets []set
	for s := range e.elements(tag) {
		t := r.deref(s)
		if t == nil {
			r.c.warn(fmt.Sprintf("%s: %s refers to an unknown id and is ignored", owner, tag))
			continue
		}
		if t.element("rule") != nil {
			r.c.warn(fmt.Sprintf("%s: %s set %q has a rule and is ignored", owner, tag, t.attr("id", "")))
			continue
		}
		score, _ := parseScore(t.attr("score", "0"))
		sets = append(sets, set{t, score})
	}
	sort.SliceStable(sets, func(i, j int) bool { return sets[i].score > sets[j].score })
	keys := []string{"name", "value"}
	vals := make([][]byte, 2)
	for _, s := range sets {
		for nv := range s.e.elements("nvpair") {
			if nv = r.deref(nv); nv == nil {
				continue
			}
			nv.attrs(keys, vals)
			if len(vals[0]) == 0 || vals[1] == nil {
				continue
			}
			if _, seen := m[string(vals[0])]; !seen {
				m[string(vals[0])] = string(vals[1])
			}
		}
	}
	return m
}

// utilization reads e's utilization sets.
func (r *configReader) utilization(e *xnode, owner string) (Amounts, error) {
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
func (r *configReader) options(crmConfig *xnode) (symmetric bool) {
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
func (r *configReader) nodes(nodes *xnode) error {
	if nodes == nil {
		return nil
	}
	for e := range nodes.elements("node") {
		name := e.attr("uname", e.attr("id", ""))
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
		if id := e.attr("id", ""); id != "" {
			r.nodeByID[id] = name
		}
	}
	return nil
}
