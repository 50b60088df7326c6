package o2cb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/corosyncconf"
	"github.com/kvmha/kvmha/internal/files"
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
	// Source names where the node list came from, for messages; SourceParam is the
	// parameter naming that file, and DevicesParam the one Devices came from.
	Source, SourceParam, DevicesParam string
}

// loadLayout builds the layout from the configured source. Its errors carry
// exit codes: a missing file is ErrInstalled (this node lacks it, so Pacemaker
// may try another node); a file that is no configuration, or one that does not
// describe this cluster and node, is ErrConfigured naming the parameter; a
// probe turns either into "not running".
func (a *agent) loadLayout(ctx context.Context, req *ocf.Request, s settings) (*layout, error) {
	var l *layout
	var err error
	switch s.nodesFrom {
	case fromCorosync:
		l, err = a.layoutFromCorosync(ctx, s)
	default:
		l, err = layoutFromClusterConf(ctx, s)
	}
	if err != nil {
		return nil, err
	}
	if s.hbMode != "" {
		l.HeartbeatMode = s.hbMode
	}
	if len(s.hbDevices) > 0 {
		l.Devices = s.hbDevices
		l.DevicesParam = pHBDevices
	}
	if l.HeartbeatMode == o2cbconf.HeartbeatGlobal && len(l.Devices) == 0 {
		return nil, ocf.ParamErrorf(pHBDevices, "global heartbeat needs regions: %s lists none for cluster %s and %s is unset", l.Source, s.cluster, pHBDevices)
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

// Bounds on reading the configuration files the parameters name: real ones are a few
// kilobytes, and a read that takes longer than configReadTimeout is a hung mount.
const (
	maxConfigSize     = 1 << 20
	configReadTimeout = 5 * time.Second
)

// readConfigFile reads the file a parameter names: a regular file of at most
// maxConfigSize, before ctx (and configReadTimeout) ends. A FIFO, a device or a folder is
// refused at once, never waited for or read without end.
func readConfigFile(ctx context.Context, param, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, configReadTimeout)
	defer cancel()
	data, err := files.Read(ctx, path, maxConfigSize)
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, ocf.Errorf(ocf.ErrInstalled, "%s: %s does not exist on this node", param, agentlog.Clip(path))
	case errors.Is(err, files.ErrNotRegular), errors.Is(err, files.ErrTooLarge):
		return nil, ocf.ParamErrorf(param, "%v: %s", files.Cause(err), agentlog.Clip(path))
	case errors.Is(err, files.ErrTimedOut):
		return nil, ocf.Errorf(ocf.ErrGeneric, "%s: reading %s did not finish in %s (a hung mount?)", param, agentlog.Clip(path), configReadTimeout)
	}
	return nil, ocf.Errorf(ocf.ErrInstalled, "%s: cannot read %s: %v", param, agentlog.Clip(path), files.Cause(err))
}

func layoutFromClusterConf(ctx context.Context, s settings) (*layout, error) {
	data, err := readConfigFile(ctx, pClusterConf, s.clusterConf)
	if err != nil {
		return nil, err
	}
	path := agentlog.Clip(s.clusterConf)
	f, err := o2cbconf.Parse(data)
	if err != nil {
		return nil, ocf.ParamErrorf(pClusterConf, "%v (%s)", err, path)
	}
	c, err := f.Cluster(s.cluster)
	if err != nil {
		return nil, ocf.ParamErrorf(pClusterConf, "%v (%s)", err, path)
	}
	return &layout{Cluster: *c, Devices: c.Regions, Source: path, SourceParam: pClusterConf, DevicesParam: pClusterConf}, nil
}

func (a *agent) layoutFromCorosync(ctx context.Context, s settings) (*layout, error) {
	cfg, err := a.readCorosync(ctx, s.corosyncConf)
	if err != nil {
		return nil, err
	}
	path := agentlog.Clip(s.corosyncConf)
	l := &layout{Cluster: o2cbconf.Cluster{Name: s.cluster, HeartbeatMode: o2cbconf.HeartbeatLocal}, Source: path,
		SourceParam: pCorosyncConf, DevicesParam: pHBDevices}
	for _, cn := range cfg.Nodes {
		n, err := a.o2cbNode(ctx, s, cn)
		if err != nil {
			return nil, ocf.ParamErrorf(pCorosyncConf, "line %d: %v (%s)", cn.Line, err, path)
		}
		l.Nodes = append(l.Nodes, n)
	}
	if len(l.Nodes) == 0 {
		return nil, ocf.ParamErrorf(pCorosyncConf, "no nodelist, which nodes_from=corosync needs (%s)", path)
	}
	slices.SortFunc(l.Nodes, func(x, y o2cbconf.Node) int { return x.Number - y.Number })
	if err := l.Check(); err != nil {
		return nil, ocf.ParamErrorf(pCorosyncConf, "%v (%s)", err, path)
	}
	return l, nil
}

func (a *agent) readCorosync(ctx context.Context, path string) (*corosyncconf.Config, error) {
	data, err := readConfigFile(ctx, pCorosyncConf, path)
	if err != nil {
		return nil, err
	}
	cfg, err := corosyncconf.Parse(data)
	if err != nil {
		return nil, ocf.ParamErrorf(pCorosyncConf, "%v (%s)", err, agentlog.Clip(path))
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
	ips, err := a.lookupIPv4(ctx, addr)
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
	if h, err := a.hostname(); err == nil && h != "" {
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
	return "", ocf.ParamErrorf(l.SourceParam, "this node, %s, is not a node of cluster %s in %s (nodes: %s)",
		agentlog.Clip(me), l.Name, l.Source, agentlog.Clip(strings.Join(names, ", ")))
}
