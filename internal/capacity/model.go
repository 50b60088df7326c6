package capacity

import "sort"

// Amounts maps utilization attribute names (cpu, hv_memory, ...) to amounts.
type Amounts map[string]int64

// clone returns a copy that the caller may change.
func (a Amounts) clone() Amounts {
	c := make(Amounts, len(a))
	for k, v := range a {
		c[k] = v
	}
	return c
}

// add adds b to a.
func (a Amounts) add(b Amounts) {
	for k, v := range b {
		a[k] += v
	}
}

// sub subtracts b from a.
func (a Amounts) sub(b Amounts) {
	for k, v := range b {
		a[k] -= v
	}
}

// covers says whether free has room for need by Pacemaker's rule: every
// attribute need names, with a missing free attribute counting as 0.
func (a Amounts) covers(need Amounts) bool {
	for k, v := range need {
		if v > a[k] {
			return false
		}
	}
	return true
}

// filled returns a copy with every attribute of attrs present (0 if absent),
// for output with a stable shape.
func (a Amounts) filled(attrs []string) Amounts {
	c := make(Amounts, len(attrs))
	for _, k := range attrs {
		c[k] = a[k]
	}
	return c
}

func sortedNames(a Amounts) []string {
	names := make([]string, 0, len(a))
	for k := range a {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// NodeState says whether a node can run resources.
type NodeState string

// Node states. Only online nodes run resources, fail in a plan, and take guests.
const (
	Online      NodeState = "online"
	Standby     NodeState = "standby"
	Maintenance NodeState = "maintenance"
	Offline     NodeState = "offline"
)

// Node is a cluster node with its capacity.
type Node struct {
	Name string
	// Capacity is the node's utilization attributes; one it lacks counts as 0.
	Capacity Amounts
	State    NodeState
}

// Kind is the kind of a top-level resource.
type Kind string

// Resource kinds.
const (
	Primitive Kind = "primitive"
	Group     Kind = "group"
	Clone     Kind = "clone"
)

// Guest is a primitive with utilization: what it asks for and where it runs.
type Guest struct {
	ID   string
	Need Amounts
	// Active lists the nodes it runs on now: one for a primitive, more while
	// it migrates or when it runs where it should not; a clone's primitive
	// has a node per running instance (twice if two instances run there).
	Active []string
}

// Resource is what Pacemaker places as a whole: a primitive, a group (its
// members run together, in order), or a clone (its instances are placed one
// by one; each instance is the cloned primitive or group).
type Resource struct {
	ID      string
	Kind    Kind
	Members []*Guest // with utilization, in group order
	// CloneMax and CloneNodeMax are the clone's limits; 0 means Pacemaker's
	// default (as many instances as nodes; one per node).
	CloneMax, CloneNodeMax int
	// Banned holds the nodes a -INFINITY location constraint forbids.
	Banned map[string]bool
	// Allowed, when not nil (symmetric-cluster=false), holds the only nodes
	// the resource may run on.
	Allowed map[string]bool
}

// allows says whether the resource may run on node.
func (r *Resource) allows(node string) bool {
	if r.Banned[node] {
		return false
	}
	return r.Allowed == nil || r.Allowed[node]
}

// Cluster is what the plan needs from the CIB.
type Cluster struct {
	// Strategy is the placement-strategy cluster option.
	Strategy  string
	Nodes     []*Node
	Resources []*Resource
	// Warnings are things the reader skipped or the operator should know.
	Warnings []string
	// warned holds the Warnings, for warn's check: a CIB can give a warning per resource
	// (a storage rule on each of 2,000 guests), and a scan of the list for each was
	// quadratic.
	warned map[string]bool
}

// node returns the node named name, or nil.
func (c *Cluster) node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// guests maps each guest's id to the guest.
func (c *Cluster) guests() map[string]*Guest {
	m := map[string]*Guest{}
	for _, r := range c.Resources {
		for _, g := range r.Members {
			m[g.ID] = g
		}
	}
	return m
}

// sortNodes orders the nodes by name, for stable output.
func sortNodes(c *Cluster) {
	sort.SliceStable(c.Nodes, func(i, j int) bool { return c.Nodes[i].Name < c.Nodes[j].Name })
}

func (c *Cluster) warn(msg string) {
	if c.warned == nil || len(c.warned) != len(c.Warnings) { // new, or Warnings changed by someone else
		c.warned = make(map[string]bool, len(c.Warnings))
		for _, w := range c.Warnings {
			c.warned[w] = true
		}
	}
	if c.warned[msg] {
		return
	}
	c.warned[msg] = true
	c.Warnings = append(c.Warnings, msg)
}
