package capacity

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// status reads the status section: which nodes are online, in standby or in
// maintenance, and on which online nodes each guest is active according to
// its operation history there.
func (r *configReader) status(st *xnode) {
	guests := r.c.guests()
	var h historyReader
	for ns := range st.elements("node_state") {
		name := ns.attr("uname", "")
		if name == "" {
			name = r.nodeByID[ns.attr("id", "")]
		}
		if name == "" {
			continue
		}
		n := r.c.node(name)
		if n == nil { // a node the nodes section lacks (a remote node): no capacity
			n = &Node{Name: name, Capacity: Amounts{}}
			r.c.Nodes = append(r.c.Nodes, n)
		}
		if !nodeStateOnline(ns) {
			n.State = Offline
			continue
		}
		transient := r.values(ns.element("transient_attributes"), "instance_attributes", "node "+name)
		permanent := r.nodeAttrs[name]
		switch {
		case isTrue(permanent["standby"]) || isTrue(transient["standby"]):
			n.State = Standby
		case isTrue(permanent["maintenance"]) || isTrue(transient["maintenance"]):
			n.State = Maintenance
		default:
			n.State = Online
		}
		for lrm := range ns.elements("lrm") {
			for list := range lrm.elements("lrm_resources") {
				for lr := range list.elements("lrm_resource") {
					id, _ := lr.attrBytes("id")
					g := guests[baseID(string(id))]
					if g != nil && h.active(lr) {
						g.Active = append(g.Active, name)
					}
				}
			}
		}
	}
}

// nodeStateOnline says whether a node_state describes a cluster member with
// a running controller. Pacemaker wrote in_ccm="true" crmd="online" before
// 2.1.7 and timestamps (0: not) since; a remote node has no controller of its
// own and only in_ccm counts.
func nodeStateOnline(ns *xnode) bool {
	set := func(attr, word string) bool {
		v := ns.attr(attr, "")
		if v == word {
			return true
		}
		n, err := strconv.ParseInt(v, 10, 64)
		return err == nil && n > 0
	}
	if !set("in_ccm", "true") {
		return false
	}
	return isTrue(ns.attr("remote_node", "")) || set("crmd", "online")
}

// Operation status values of lrm_rsc_op (op-status) that matter here.
const (
	opPending   = -1
	opDone      = 0
	opCancelled = 1
)

// OCF exit codes a monitor uses to say "not running".
const (
	rcNotRunning   = 7
	rcNotInstalled = 5
)

type historyOp struct {
	task           string
	rc, status     int
	call           int
	lastChange     int64
	pendingOrOrder int // for sorting: pending operations (call-id -1) last
}

// historyReader reads operation histories; it keeps its buffer from one resource to
// the next (a CIB has one history per resource and node: 64,000 for 32 nodes and 2,000
// guests).
type historyReader struct {
	hist []historyOp
}

// The attributes of lrm_rsc_op that active reads, in historyOp's order.
var opAttrs = []string{"operation", "rc-code", "op-status", "call-id", "last-rc-change"}

// active replays the operations of lr (an lrm_resource: one resource on one node),
// oldest first, and says whether it ends up running there. Only a completed stop or a
// monitor that found it stopped (or not installed) means "not running": a failed or
// pending operation leaves a resource that may hold its memory.
func (h *historyReader) active(lr *xnode) bool {
	h.hist = h.hist[:0]
	var v [5][]byte
	for e := range lr.elements("lrm_rsc_op") {
		e.attrs(opAttrs, v[:])
		o := historyOp{
			task:   opTask(v[0]),
			rc:     atoiOr(string(v[1]), -1),
			status: atoiOr(string(v[2]), opDone),
			call:   atoiOr(string(v[3]), -1),
		}
		lastChange := "0"
		if v[4] != nil {
			lastChange = string(v[4])
		}
		o.lastChange, _ = strconv.ParseInt(lastChange, 10, 64)
		if o.call < 0 {
			o.pendingOrOrder = 1
		}
		h.hist = append(h.hist, o)
	}
	slices.SortStableFunc(h.hist, func(a, b historyOp) int {
		if a.pendingOrOrder != b.pendingOrOrder {
			return cmp.Compare(a.pendingOrOrder, b.pendingOrOrder)
		}
		if a.call != b.call {
			return cmp.Compare(a.call, b.call)
		}
		return cmp.Compare(a.lastChange, b.lastChange)
	})
	active := false
	for _, o := range h.hist {
		if o.status == opCancelled {
			continue
		}
		switch o.task {
		case "stop":
			active = !(o.status == opDone && o.rc == 0)
		case "monitor":
			if o.status == opPending {
				continue // a probe under way says nothing yet
			}
			active = !(o.status == opDone && (o.rc == rcNotRunning || o.rc == rcNotInstalled))
		case "start", "promote", "demote", "migrate_from", "migrate_to":
			active = true
		}
	}
	return active
}

// opTask is the operation's name when active looks at it, "" for another: a constant
// rather than a copy of the input.
func opTask(b []byte) string {
	for _, t := range [...]string{"monitor", "start", "stop", "migrate_from", "migrate_to", "promote", "demote"} {
		if string(b) == t {
			return t
		}
	}
	return ""
}

func atoiOr(s string, dflt int) int {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return dflt
	}
	return v
}
