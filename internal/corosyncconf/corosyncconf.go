// Package corosyncconf reads the parts of corosync.conf that agents need to
// know the cluster's members without asking a running corosync: the cluster
// name and the nodelist (each node's name, nodeid and ring addresses).
//
// Reading the file is the only way to learn the members without forking a
// tool (corosync-cmapctl) or speaking corosync's libqb IPC. It yields the
// configured members - which is what a cluster-wide layout such as O2CB's
// needs: every node that may join, not only those up right now. pcs and
// crmsh rewrite corosync.conf on every node when a node is added, so the file
// is current wherever the agent runs.
//
// The syntax follows corosync's own parser: "name {" opens a section, "}"
// closes it, "key: value" sets a key, lines starting with '#' are comments.
package corosyncconf

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Config is what this package extracts from a corosync.conf.
type Config struct {
	// ClusterName is totem.cluster_name ("" when absent).
	ClusterName string
	// Nodes are the nodelist's node sections in file order.
	Nodes []Node
}

// Node is one nodelist.node section.
type Node struct {
	// ID is the nodeid; 0 when the section has none.
	ID int
	// Name is the node's name ("" when the section has none).
	Name string
	// Addrs holds ringX_addr values by X.
	Addrs map[int]string
	// Line is where the section starts.
	Line int
}

// MaxSize bounds what Parse accepts.
const MaxSize = 1 << 20

// maxDepth bounds section nesting; corosync itself uses three levels.
const maxDepth = 16

// Parse reads a corosync.conf. Errors name the line.
func Parse(data []byte) (*Config, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("file is larger than %d bytes", MaxSize)
	}
	cfg := &Config{}
	var path []string // open sections, outermost first
	var node *Node
	var nodeKeys map[string]bool
	for i, raw := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		if !utf8.Valid(raw) {
			return nil, fmt.Errorf("line %d: invalid UTF-8", n)
		}
		line := strings.TrimSpace(string(raw))
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasSuffix(line, "{"):
			name := strings.TrimSpace(strings.TrimSuffix(line, "{"))
			if name == "" || strings.ContainsAny(name, "{}:") {
				return nil, fmt.Errorf("line %d: %q does not open a section", n, agentlog.Clip(line))
			}
			if len(path) >= maxDepth {
				return nil, fmt.Errorf("line %d: sections nested deeper than %d", n, maxDepth)
			}
			path = append(path, name)
			if name == "node" && len(path) == 2 && path[0] == "nodelist" {
				cfg.Nodes = append(cfg.Nodes, Node{Addrs: map[int]string{}, Line: n})
				node = &cfg.Nodes[len(cfg.Nodes)-1]
				nodeKeys = map[string]bool{}
			}
		case line == "}":
			if len(path) == 0 {
				return nil, fmt.Errorf("line %d: '}' closes no section", n)
			}
			if len(path) == 2 && node != nil {
				node = nil
			}
			path = path[:len(path)-1]
		default:
			key, value, ok := strings.Cut(line, ":")
			key, value = strings.TrimSpace(key), strings.TrimSpace(value)
			if !ok || key == "" || strings.ContainsAny(key, " \t{}") {
				return nil, fmt.Errorf("line %d: %q is neither \"key: value\" nor a section", n, agentlog.Clip(line))
			}
			switch {
			case len(path) == 1 && path[0] == "totem" && key == "cluster_name":
				cfg.ClusterName = value
			case node != nil && len(path) == 2:
				if nodeKeys[key] {
					return nil, fmt.Errorf("line %d: %s is given twice in the node section at line %d", n, agentlog.Clip(key), node.Line)
				}
				nodeKeys[key] = true
				if err := node.set(key, value); err != nil {
					return nil, fmt.Errorf("line %d: %v", n, err)
				}
			}
		}
	}
	if len(path) > 0 {
		return nil, fmt.Errorf("section %s is not closed at the end of the file", agentlog.Clip(strings.Join(path, ".")))
	}
	return cfg, nil
}

func (nd *Node) set(key, value string) error {
	switch {
	case key == "nodeid":
		id, err := strconv.ParseUint(value, 10, 32)
		if err != nil || id == 0 {
			return fmt.Errorf("nodeid %q is not a positive 32-bit number", agentlog.Clip(value))
		}
		nd.ID = int(id)
	case key == "name":
		nd.Name = value
	case strings.HasPrefix(key, "ring") && strings.HasSuffix(key, "_addr"):
		ring, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(key, "ring"), "_addr"))
		if err != nil || ring < 0 || ring > 7 {
			return fmt.Errorf("%s is not ring0_addr..ring7_addr", agentlog.Clip(key))
		}
		nd.Addrs[ring] = value
	}
	return nil
}
