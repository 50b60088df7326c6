package o2cbconf

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Limits of the kernel's O2CB node manager and of the OCFS2 disk format.
const (
	// MaxNodes is O2NM_MAX_NODES: node numbers are 0..MaxNodes-1.
	MaxNodes = 255
	// MaxNodeNameLen is O2NM_MAX_NAME_LEN, the longest configfs node name.
	MaxNodeNameLen = 64
	// MaxClusterNameLen is OCFS2_CLUSTER_NAME_LEN: mkfs.ocfs2 stores the
	// cluster name in 16 bytes of the superblock, and mount compares them.
	MaxClusterNameLen = 16
	// DefaultPort is the o2net port ocfs2-tools assume when none is given.
	DefaultPort = 7777
)

// Heartbeat modes.
const (
	HeartbeatLocal  = "local"
	HeartbeatGlobal = "global"
)

// Cluster is the typed view of one cluster of the file.
type Cluster struct {
	Name string
	// HeartbeatMode is HeartbeatLocal or HeartbeatGlobal.
	HeartbeatMode string
	// Nodes are sorted by number.
	Nodes []Node
	// Regions are the global heartbeat regions (volume UUIDs), in file order.
	Regions []string
}

// Node is one member of a cluster.
type Node struct {
	Name   string
	Number int
	IP     netip.Addr // IPv4: o2net speaks nothing else
	Port   int
}

// ErrNoCluster is wrapped by Cluster when the file has no such cluster.
var ErrNoCluster = errors.New("no such cluster")

// ClusterNames lists the names of the file's cluster stanzas in order.
func (f *File) ClusterNames() []string {
	var names []string
	for i := range f.Stanzas {
		if s := &f.Stanzas[i]; s.Kind == "cluster" {
			if name, ok := s.Get("name"); ok {
				names = append(names, name)
			}
		}
	}
	return names
}

// Cluster returns cluster name with its nodes and heartbeat regions, checked
// against the kernel's limits: unique node names, numbers and addresses,
// IPv4 addresses, ports 1..65534, numbers 0..254. Node and heartbeat stanzas
// of other clusters are not looked at.
func (f *File) Cluster(name string) (*Cluster, error) {
	var c *Cluster
	for i := range f.Stanzas {
		s := &f.Stanzas[i]
		if s.Kind != "cluster" {
			continue
		}
		if n, _ := s.Get("name"); n != name {
			continue
		}
		if c != nil {
			return nil, fmt.Errorf("cluster %s is defined twice (%s)", name, s.where())
		}
		mode, ok := s.Get("heartbeat_mode")
		if !ok {
			mode = HeartbeatLocal // files from before global heartbeat
		}
		if mode != HeartbeatLocal && mode != HeartbeatGlobal {
			return nil, fmt.Errorf("%s: heartbeat_mode %q is neither local nor global", s.where(), agentlog.Clip(mode))
		}
		c = &Cluster{Name: name, HeartbeatMode: mode}
	}
	if c == nil {
		known := f.ClusterNames()
		if len(known) == 0 {
			return nil, fmt.Errorf("cluster %s: %w (the file defines no cluster)", name, ErrNoCluster)
		}
		return nil, fmt.Errorf("cluster %s: %w (the file defines %s)", name, ErrNoCluster, strings.Join(known, ", "))
	}
	for i := range f.Stanzas {
		s := &f.Stanzas[i]
		if owner, _ := s.Get("cluster"); owner != name {
			continue
		}
		switch s.Kind {
		case "node":
			n, err := nodeFromStanza(s)
			if err != nil {
				return nil, err
			}
			c.Nodes = append(c.Nodes, n)
		case "heartbeat":
			region, ok := s.Get("region")
			if !ok || region == "" {
				return nil, fmt.Errorf("%s has no region", s.where())
			}
			if slices.Contains(c.Regions, region) {
				return nil, fmt.Errorf("%s: region %s is listed twice", s.where(), agentlog.Clip(region))
			}
			c.Regions = append(c.Regions, region)
		}
	}
	slices.SortStableFunc(c.Nodes, func(a, b Node) int { return a.Number - b.Number })
	if err := c.Check(); err != nil {
		return nil, err
	}
	return c, nil
}

func nodeFromStanza(s *Stanza) (Node, error) {
	var n Node
	var missing []string
	get := func(key string) string {
		v, ok := s.Get(key)
		if !ok || v == "" {
			missing = append(missing, key)
		}
		return v
	}
	n.Name = get("name")
	number := get("number")
	address := get("ip_address")
	if len(missing) > 0 {
		return n, fmt.Errorf("%s lacks %s", s.where(), strings.Join(missing, " and "))
	}
	var err error
	if n.Number, err = strconv.Atoi(number); err != nil {
		return n, fmt.Errorf("%s: number %q is not a number", s.where(), agentlog.Clip(number))
	}
	if n.IP, err = ParseIPv4(address); err != nil {
		return n, fmt.Errorf("%s: %v", s.where(), err)
	}
	n.Port = DefaultPort
	if port, ok := s.Get("ip_port"); ok {
		if n.Port, err = strconv.Atoi(port); err != nil {
			return n, fmt.Errorf("%s: ip_port %q is not a number", s.where(), agentlog.Clip(port))
		}
	}
	return n, nil
}

// ParseIPv4 accepts a dotted-quad IPv4 address, the only form the kernel's
// ipv4_address attribute takes.
func ParseIPv4(s string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil || !ip.Is4() {
		return netip.Addr{}, fmt.Errorf("ip_address %q is not an IPv4 address (O2CB speaks IPv4 only)", agentlog.Clip(s))
	}
	return ip, nil
}

// Check applies the kernel's rules to a cluster, whatever its source.
func (c *Cluster) Check() error {
	if err := CheckClusterName(c.Name); err != nil {
		return err
	}
	if c.HeartbeatMode != HeartbeatLocal && c.HeartbeatMode != HeartbeatGlobal {
		return fmt.Errorf("cluster %s: heartbeat mode %q is neither local nor global", c.Name, agentlog.Clip(c.HeartbeatMode))
	}
	names, numbers, addrs := map[string]bool{}, map[int]string{}, map[netip.Addr]string{}
	for _, n := range c.Nodes {
		if err := CheckNodeName(n.Name); err != nil {
			return fmt.Errorf("cluster %s: %v", c.Name, err)
		}
		switch {
		case names[n.Name]:
			return fmt.Errorf("cluster %s: node %s is listed twice", c.Name, n.Name)
		case n.Number < 0 || n.Number >= MaxNodes:
			return fmt.Errorf("cluster %s: node %s has number %d, outside 0..%d", c.Name, n.Name, n.Number, MaxNodes-1)
		case numbers[n.Number] != "":
			return fmt.Errorf("cluster %s: nodes %s and %s share number %d", c.Name, numbers[n.Number], n.Name, n.Number)
		case !n.IP.Is4():
			return fmt.Errorf("cluster %s: node %s has no IPv4 address", c.Name, n.Name)
		case addrs[n.IP] != "":
			return fmt.Errorf("cluster %s: nodes %s and %s share address %s", c.Name, addrs[n.IP], n.Name, n.IP)
		case n.Port < 1 || n.Port > 65534:
			return fmt.Errorf("cluster %s: node %s has port %d, outside 1..65534", c.Name, n.Name, n.Port)
		}
		names[n.Name], numbers[n.Number], addrs[n.IP] = true, n.Name, n.Name
	}
	for _, r := range c.Regions {
		if err := CheckRegionName(r); err != nil {
			return fmt.Errorf("cluster %s: %v", c.Name, err)
		}
	}
	return nil
}

// CheckClusterName applies the limits of configfs and of the OCFS2 superblock.
func CheckClusterName(name string) error {
	if err := checkDirName("cluster name", name, MaxClusterNameLen); err != nil {
		return err
	}
	return nil
}

// CheckNodeName applies the limits of a configfs node directory.
func CheckNodeName(name string) error {
	return checkDirName("node name", name, MaxNodeNameLen)
}

// CheckRegionName accepts a global heartbeat region: the volume's UUID as
// 32 hex digits without dashes, which is how o2cb names the configfs region.
func CheckRegionName(name string) error {
	if len(name) != 32 || strings.Trim(name, "0123456789abcdefABCDEF") != "" {
		return fmt.Errorf("heartbeat region %q is not a volume UUID (32 hex digits, as mounted.ocfs2 -d prints it without dashes)", agentlog.Clip(name))
	}
	return nil
}

// checkDirName accepts names that are safe as a configfs directory and in a
// cluster.conf value: letters, digits, '.', '_' and '-', not "." or "..".
func checkDirName(what, name string, max int) error {
	switch {
	case name == "":
		return fmt.Errorf("%s is empty", what)
	case len(name) > max:
		return fmt.Errorf("%s %q is longer than %d characters", what, agentlog.Clip(name), max)
	case name == "." || name == "..":
		return fmt.Errorf("%s %q is not allowed", what, name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%s %q may hold only letters, digits, '.', '_' and '-'", what, agentlog.Clip(name))
		}
	}
	return nil
}

// Equal reports whether two clusters describe the same layout (regions in
// any order).
func (c *Cluster) Equal(o *Cluster) bool {
	if c.Name != o.Name || c.HeartbeatMode != o.HeartbeatMode || !slices.Equal(c.Nodes, o.Nodes) {
		return false
	}
	a, b := slices.Clone(c.Regions), slices.Clone(o.Regions)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// SetCluster replaces cluster c.Name - its cluster, node and heartbeat
// stanzas - and leaves every other stanza as it was. The new stanzas are
// laid out as o2cb lays them out (clusters, then heartbeat regions, then
// nodes), so a file o2cb wrote keeps its shape. c must pass Check.
func (f *File) SetCluster(c *Cluster) error {
	if err := c.Check(); err != nil {
		return err
	}
	// Where the replaced stanzas were, per kind, so that an edit leaves the
	// rest of the file where it was.
	var kept []Stanza
	at := map[string]int{}
	for _, s := range f.Stanzas {
		if s.belongsTo(c.Name) {
			if _, seen := at[s.Kind]; !seen {
				at[s.Kind] = len(kept)
			}
			continue
		}
		kept = append(kept, s)
	}

	nodes := slices.Clone(c.Nodes)
	slices.SortStableFunc(nodes, func(a, b Node) int { return a.Number - b.Number })
	groups := map[string][]Stanza{"cluster": {{Kind: "cluster", Attrs: []Attr{
		{"name", c.Name}, {"heartbeat_mode", c.HeartbeatMode}, {"node_count", strconv.Itoa(len(nodes))}}}}}
	for _, r := range c.Regions {
		groups["heartbeat"] = append(groups["heartbeat"], Stanza{Kind: "heartbeat", Attrs: []Attr{{"cluster", c.Name}, {"region", r}}})
	}
	for _, n := range nodes {
		groups["node"] = append(groups["node"], Stanza{Kind: "node", Attrs: []Attr{
			{"cluster", c.Name}, {"number", strconv.Itoa(n.Number)}, {"ip_port", strconv.Itoa(n.Port)},
			{"ip_address", n.IP.String()}, {"name", n.Name}}})
	}
	// New kinds go after the last stanza of their kind or of a kind o2cb
	// writes before them: clusters, then heartbeat regions, then nodes.
	order := []string{"cluster", "heartbeat", "node"}
	for i, kind := range order {
		if _, ok := at[kind]; !ok {
			at[kind] = afterLast(kept, order[:i+1])
		}
	}
	// Insert from the back so that the positions stay valid; at one
	// position, nodes go in first so that they end up last.
	for i := len(order) - 1; i >= 0; {
		last := i
		for j := i - 1; j >= 0; j-- {
			if at[order[j]] > at[order[last]] {
				last = j
			}
		}
		kind := order[last]
		kept = slices.Insert(kept, at[kind], groups[kind]...)
		order = slices.Delete(order, last, last+1)
		i = len(order) - 1
	}
	f.Stanzas = kept
	return nil
}

// belongsTo reports whether the stanza is part of cluster name.
func (s *Stanza) belongsTo(name string) bool {
	switch s.Kind {
	case "cluster":
		n, _ := s.Get("name")
		return n == name
	case "node", "heartbeat":
		owner, _ := s.Get("cluster")
		return owner == name
	}
	return false
}

// afterLast is the index after the last stanza of one of the kinds, or 0.
func afterLast(list []Stanza, kinds []string) int {
	at := 0
	for i, s := range list {
		if slices.Contains(kinds, s.Kind) {
			at = i + 1
		}
	}
	return at
}
