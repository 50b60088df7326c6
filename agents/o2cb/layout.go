package o2cb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/kvmha/kvmha/internal/corosyncconf"
	"github.com/kvmha/kvmha/internal/o2cbconf"
	"github.com/kvmha/kvmha/internal/ocf"
)

// layout is the cluster as it should be in the kernel.
type layout struct {
	o2cbconf.Cluster
	// Local is this node's entry in Nodes.
	Local o2cbconf.Node
	// Devices are the global heartbeat regions as configured: device paths
	// or volume UUIDs (cluster.conf lists UUIDs).
	Devices []string
	// Source names where the node list came from, for messages.
	Source string
}

// loadLayout builds the layout from the configured source. Its errors carry
// exit codes: a missing file is ErrInstalled and a bad one ErrArgs - both
// are about this node's files, so Pacemaker may try another node - and a
// probe turns either into "not running".
func (a *agent) loadLayout(ctx context.Context, req *ocf.Request, s settings) (*layout, error) {
	var l *layout
	var err error
	switch s.nodesFrom {
	case fromCorosync:
		l, err = a.layoutFromCorosync(ctx, s)
	default:
		l, err = layoutFromClusterConf(s)
	}
	if err != nil {
		return nil, err
	}
	if s.hbMode != "" {
		l.HeartbeatMode = s.hbMode
	}
	if len(s.hbDevices) > 0 {
		l.Devices = s.hbDevices
	}
	if l.HeartbeatMode == o2cbconf.HeartbeatGlobal && len(l.Devices) == 0 {
		return nil, ocf.Errorf(ocf.ErrArgs, "global heartbeat needs regions: %s lists none for cluster %s and %s is unset", l.Source, s.cluster, pHBDevices)
	}
	if l.HeartbeatMode == o2cbconf.HeartbeatLocal {
		l.Devices = nil
	}
	local, err := a.localNodeName(req, l)
	if err != nil {
		return nil, err
	}
	for _, n := range l.Nodes {
		if n.Name == local {
			l.Local = n
		}
	}
	return l, nil
}

func readConfigFile(param, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, ocf.Errorf(ocf.ErrInstalled, "%s %s does not exist on this node", param, path)
	case err != nil:
		return nil, ocf.Errorf(ocf.ErrArgs, "cannot read %s: %v", path, err)
	}
	return data, nil
}

func layoutFromClusterConf(s settings) (*layout, error) {
	data, err := readConfigFile(pClusterConf, s.clusterConf)
	if err != nil {
		return nil, err
	}
	f, err := o2cbconf.Parse(data)
	if err != nil {
		return nil, ocf.Errorf(ocf.ErrArgs, "%s: %v", s.clusterConf, err)
	}
	c, err := f.Cluster(s.cluster)
	if err != nil {
		return nil, ocf.Errorf(ocf.ErrArgs, "%s: %v", s.clusterConf, err)
	}
	return &layout{Cluster: *c, Devices: c.Regions, Source: s.clusterConf}, nil
}

func (a *agent) layoutFromCorosync(ctx context.Context, s settings) (*layout, error) {
	cfg, err := a.readCorosync(s.corosyncConf)
	if err != nil {
		return nil, err
	}
	l := &layout{Cluster: o2cbconf.Cluster{Name: s.cluster, HeartbeatMode: o2cbconf.HeartbeatLocal}, Source: s.corosyncConf}
	for _, cn := range cfg.Nodes {
		n, err := a.o2cbNode(ctx, s, cn)
		if err != nil {
			return nil, ocf.Errorf(ocf.ErrArgs, "%s line %d: %v", s.corosyncConf, cn.Line, err)
		}
		l.Nodes = append(l.Nodes, n)
	}
	if len(l.Nodes) == 0 {
		return nil, ocf.Errorf(ocf.ErrArgs, "%s has no nodelist: nodes_from=corosync needs one", s.corosyncConf)
	}
	slices.SortFunc(l.Nodes, func(x, y o2cbconf.Node) int { return x.Number - y.Number })
	if err := l.Check(); err != nil {
		return nil, ocf.Errorf(ocf.ErrArgs, "%s: %v", s.corosyncConf, err)
	}
	return l, nil
}

func (a *agent) readCorosync(path string) (*corosyncconf.Config, error) {
	data, err := readConfigFile(pCorosyncConf, path)
	if err != nil {
		return nil, err
	}
	cfg, err := corosyncconf.Parse(data)
	if err != nil {
		return nil, ocf.Errorf(ocf.ErrArgs, "%s: %v", path, err)
	}
	return cfg, nil
}

// o2cbNode maps a corosync node to an O2CB node: same name, the nodeid as
// node number (stable and identical on every node, unlike a position in a
// list), the ring's address.
func (a *agent) o2cbNode(ctx context.Context, s settings, cn corosyncconf.Node) (o2cbconf.Node, error) {
	n := o2cbconf.Node{Name: cn.Name, Number: cn.ID, Port: s.port}
	if cn.Name == "" {
		return n, fmt.Errorf("node has no name: O2CB needs the node names Pacemaker uses")
	}
	if cn.ID < 1 || cn.ID >= o2cbconf.MaxNodes {
		return n, fmt.Errorf("node %s: nodeid %d is not 1..%d (the O2CB node number is the nodeid)", cn.Name, cn.ID, o2cbconf.MaxNodes-1)
	}
	addr, ok := cn.Addrs[s.ring]
	if !ok {
		return n, fmt.Errorf("node %s has no ring%d_addr", cn.Name, s.ring)
	}
	if ip, err := o2cbconf.ParseIPv4(addr); err == nil {
		n.IP = ip
		return n, nil
	}
	if strings.Contains(addr, ":") {
		return n, fmt.Errorf("node %s: ring%d_addr %s is IPv6, O2CB speaks IPv4 only (choose another %s)", cn.Name, s.ring, addr, pCorosyncRing)
	}
	ips, err := a.sys.LookupIPv4(ctx, addr)
	if err != nil || len(ips) == 0 {
		return n, fmt.Errorf("node %s: cannot resolve ring%d_addr %s to an IPv4 address: %v", cn.Name, s.ring, addr, err)
	}
	n.IP = ips[0].Unmap()
	return n, nil
}

// localNodeName is this node's name in the layout: the name Pacemaker runs
// the action for (CRM_meta_on_node), else the host name, else its first label.
func (a *agent) localNodeName(req *ocf.Request, l *layout) (string, error) {
	var candidates []string
	if on := req.Meta("on_node"); on != "" {
		candidates = append(candidates, on)
	}
	if h, err := a.sys.Hostname(); err == nil && h != "" {
		candidates = append(candidates, h)
		if short, _, ok := strings.Cut(h, "."); ok {
			candidates = append(candidates, short)
		}
	}
	for _, c := range candidates {
		for _, n := range l.Nodes {
			if n.Name == c {
				return c, nil
			}
		}
	}
	var names []string
	for _, n := range l.Nodes {
		names = append(names, n.Name)
	}
	me := "(no node name: neither CRM_meta_on_node nor a host name)"
	if len(candidates) > 0 {
		me = candidates[0]
	}
	return "", ocf.Errorf(ocf.ErrArgs, "this node, %s, is not a node of cluster %s in %s (nodes: %s)",
		me, l.Name, l.Source, strings.Join(names, ", "))
}
