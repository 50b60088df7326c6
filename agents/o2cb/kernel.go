package o2cb

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"strconv"
	"syscall"

	"github.com/kvmha/kvmha/internal/agentlog"

	"github.com/kvmha/kvmha/internal/o2cbconf"
)

// The O2CB layout in configfs (fs/ocfs2/cluster/nodemanager.c, heartbeat.c):
//
//	cluster/<name>/                 one cluster at a time (mkdir of a second: ENOSPC)
//	    idle_timeout_ms keepalive_delay_ms reconnect_delay_ms fence_method
//	    node/<node>/num ipv4_address ipv4_port local
//	    heartbeat/dead_threshold mode
//	    heartbeat/<region>/block_bytes start_block blocks dev pid
//
// Node attributes are write-once (EBUSY on a second write); num needs the
// address and port first, local needs all three and starts o2net listening
// on the node's address.

func clusterDir(cluster string) string        { return path.Join("cluster", cluster) }
func nodesDir(cluster string) string          { return path.Join("cluster", cluster, "node") }
func nodeDir(cluster, node string) string     { return path.Join("cluster", cluster, "node", node) }
func heartbeatDir(cluster string) string      { return path.Join("cluster", cluster, "heartbeat") }
func regionDir(cluster, uuid string) string   { return path.Join("cluster", cluster, "heartbeat", uuid) }
func clusterAttr(cluster, attr string) string { return path.Join("cluster", cluster, attr) }

// registeredNode is a node as the kernel has it.
type registeredNode struct {
	o2cbconf.Node
	Local bool
}

// readNode reads a node's attributes. An attribute the kernel shows but that
// does not parse is an error: configfs contents are input too.
func readNode(c configFS, cluster, name string) (registeredNode, error) {
	n := registeredNode{Node: o2cbconf.Node{Name: name}}
	dir := nodeDir(cluster, name)
	read := func(attr string) (int, error) {
		v, err := c.Read(path.Join(dir, attr))
		if err != nil {
			return 0, fmt.Errorf("cannot read %s: %w", path.Join(dir, attr), err)
		}
		i, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%s holds %q, not a number", path.Join(dir, attr), agentlog.Clip(v))
		}
		return i, nil
	}
	var err error
	if n.Number, err = read("num"); err != nil {
		return n, err
	}
	if n.Port, err = read("ipv4_port"); err != nil {
		return n, err
	}
	local, err := read("local")
	if err != nil {
		return n, err
	}
	n.Local = local != 0
	addr, err := c.Read(path.Join(dir, "ipv4_address"))
	if err != nil {
		return n, fmt.Errorf("cannot read %s: %w", path.Join(dir, "ipv4_address"), err)
	}
	if n.IP, err = netip.ParseAddr(addr); err != nil || !n.IP.Is4() {
		return n, fmt.Errorf("%s holds %q, not an IPv4 address", path.Join(dir, "ipv4_address"), agentlog.Clip(addr))
	}
	return n, nil
}

// readNodes reads every registered node.
func readNodes(c configFS, cluster string) ([]registeredNode, error) {
	names, err := c.Dirs(nodesDir(cluster))
	if err != nil {
		return nil, fmt.Errorf("cannot list the nodes of cluster %s: %w", cluster, err)
	}
	nodes := make([]registeredNode, 0, len(names))
	for _, name := range names {
		n, err := readNode(c, cluster, name)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// differs says how a registered node differs from the wanted one ("" when it
// does not). A node whose address is 0.0.0.0 was never completely registered.
func (r registeredNode) differs(want o2cbconf.Node) string {
	switch {
	case r.IP != want.IP:
		return fmt.Sprintf("address %s, configured %s", r.IP, want.IP)
	case r.Port != want.Port:
		return fmt.Sprintf("port %d, configured %d", r.Port, want.Port)
	case r.Number != want.Number:
		return fmt.Sprintf("number %d, configured %d", r.Number, want.Number)
	}
	return ""
}

// registerNode adds a node: mkdir, then port, address and number in the
// order the kernel demands. A node that fails half-way is removed again, so
// that a retry starts clean (its attributes are write-once).
func registerNode(c configFS, cluster string, n o2cbconf.Node) error {
	dir := nodeDir(cluster, n.Name)
	if err := c.Mkdir(dir); err != nil {
		return fmt.Errorf("cannot register node %s: %w", n.Name, err)
	}
	for _, a := range []struct{ attr, value string }{
		{"ipv4_port", strconv.Itoa(n.Port)},
		{"ipv4_address", n.IP.String()},
		{"num", strconv.Itoa(n.Number)},
	} {
		if err := c.Write(path.Join(dir, a.attr), a.value); err != nil {
			_ = c.Rmdir(dir)
			return fmt.Errorf("cannot register node %s: %s", n.Name, explainNodeWrite(a.attr, a.value, err))
		}
	}
	return nil
}

// explainNodeWrite turns the kernel's errno into the reason.
func explainNodeWrite(attr, value string, err error) string {
	var errno syscall.Errno
	errors.As(err, &errno)
	switch {
	case attr == "ipv4_address" && errno == syscall.EEXIST:
		return fmt.Sprintf("another registered node already has address %s", value)
	case attr == "num" && errno == syscall.EEXIST:
		return fmt.Sprintf("another registered node already has number %s", value)
	case attr == "num" && errno == syscall.ERANGE:
		return fmt.Sprintf("node number %s is out of the kernel's range", value)
	case errno == syscall.EBUSY:
		return fmt.Sprintf("%s is already set (node attributes are write-once)", attr)
	case attr == "local" && (errno == syscall.EADDRNOTAVAIL || errno == syscall.EADDRINUSE):
		return fmt.Sprintf("o2net cannot listen on the node's address and port: %v", errno)
	}
	return fmt.Sprintf("writing %s to %s: %v", value, attr, err)
}

// setLocal makes node the local node, which starts o2net listening.
func setLocal(c configFS, cluster, node string) error {
	err := c.Write(path.Join(nodeDir(cluster, node), "local"), "1")
	var errno syscall.Errno
	switch {
	case err == nil:
		return nil
	case errors.As(err, &errno) && errno == syscall.EBUSY:
		return fmt.Errorf("cannot make %s the local node: cluster %s already has another local node", node, cluster)
	}
	return fmt.Errorf("cannot make %s the local node: %s", node, explainNodeWrite("local", "1", err))
}

// localNode finds the node whose local attribute is 1 ("" when none).
func localNode(nodes []registeredNode) string {
	for _, n := range nodes {
		if n.Local {
			return n.Name
		}
	}
	return ""
}

// registeredClusters lists the clusters in configfs; a missing "cluster"
// folder (node manager not loaded) means none.
func registeredClusters(c configFS) ([]string, error) {
	names, err := c.Dirs("cluster")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot list the O2CB clusters in configfs: %w", err)
	}
	return names, nil
}
