package capacity

import (
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// status reads the status section: which nodes are online, in standby or in
// maintenance, and on which online nodes each guest is active according to
// its operation history there.
func (r *configReader) status(st *etree.Element) {
	guests := r.c.guests()
	for _, ns := range st.SelectElements("node_state") {
		name := ns.SelectAttrValue("uname", "")
		if name == "" {
			name = r.nodeByID[ns.SelectAttrValue("id", "")]
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
		transient := r.values(ns.SelectElement("transient_attributes"), "instance_attributes", "node "+name)
		permanent := r.nodeAttrs[name]
		switch {
		case isTrue(permanent["standby"]) || isTrue(transient["standby"]):
			n.State = Standby
		case isTrue(permanent["maintenance"]) || isTrue(transient["maintenance"]):
			n.State = Maintenance
		default:
			n.State = Online
		}
		for _, lr := range ns.FindElements("lrm/lrm_resources/lrm_resource") {
			g := guests[baseID(lr.SelectAttrValue("id", ""))]
			if g != nil && activeFromHistory(lr.SelectElements("lrm_rsc_op")) {
				g.Active = append(g.Active, name)
			}
		}
	}
}

// nodeStateOnline says whether a node_state describes a cluster member with
// a running controller. Pacemaker wrote in_ccm="true" crmd="online" before
// 2.1.7 and timestamps (0: not) since; a remote node has no controller of its
// own and only in_ccm counts.
func nodeStateOnline(ns *etree.Element) bool {
	set := func(attr, word string) bool {
		v := ns.SelectAttrValue(attr, "")
		if v == word {
			return true
		}
		n, err := strconv.ParseInt(v, 10, 64)
		return err == nil && n > 0
	}
	if !set("in_ccm", "true") {
		return false
	}
	return isTrue(ns.SelectAttrValue("remote_node", "")) || set("crmd", "online")
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

// activeFromHistory replays a resource's operations on one node, oldest
// first, and says whether it ends up running there. Only a completed stop
// or a monitor that found it stopped (or not installed) means "not running":
// a failed or pending operation leaves a resource that may hold its memory.
func activeFromHistory(ops []*etree.Element) bool {
	hist := make([]historyOp, 0, len(ops))
	for _, e := range ops {
		o := historyOp{
			task:   e.SelectAttrValue("operation", ""),
			rc:     atoiOr(e.SelectAttrValue("rc-code", ""), -1),
			status: atoiOr(e.SelectAttrValue("op-status", ""), opDone),
			call:   atoiOr(e.SelectAttrValue("call-id", ""), -1),
		}
		o.lastChange, _ = strconv.ParseInt(e.SelectAttrValue("last-rc-change", "0"), 10, 64)
		if o.call < 0 {
			o.pendingOrOrder = 1
		}
		hist = append(hist, o)
	}
	sort.SliceStable(hist, func(i, j int) bool {
		a, b := hist[i], hist[j]
		if a.pendingOrOrder != b.pendingOrOrder {
			return a.pendingOrOrder < b.pendingOrOrder
		}
		if a.call != b.call {
			return a.call < b.call
		}
		return a.lastChange < b.lastChange
	})
	active := false
	for _, o := range hist {
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

func atoiOr(s string, dflt int) int {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return dflt
	}
	return v
}
