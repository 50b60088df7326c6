package capacity

import (
	"fmt"
	"sort"
	"strings"
)

// Verdicts of a failure.
const (
	StatusOK    = "OK"
	StatusShort = "SHORT"
)

// What happens to a guest of the failed node.
const (
	Placed     = "placed"      // it restarts on Move.To
	NoRoom     = "no-room"     // no allowed survivor has room: counted in the shortfall
	NotAllowed = "not-allowed" // location constraints allow it on no survivor
	CloneLimit = "clone-limit" // a clone instance the clone's limits keep stopped: expected
)

// Plan computes the current load of every node and, for the loss of each
// online node, where its guests would restart (see the package
// documentation for the rule and the heuristic).
func Plan(c *Cluster) *Report {
	attrs := attributeNames(c)
	rep := &Report{PlacementStrategy: c.Strategy, Attributes: attrs, Survivable: true,
		Nodes: []NodeReport{}, Failures: []Failure{}, Warnings: append([]string{}, c.Warnings...)}
	load, running := currentLoad(c)
	for _, n := range c.Nodes {
		free := n.Capacity.filled(attrs)
		free.sub(load[n.Name])
		rep.Nodes = append(rep.Nodes, NodeReport{Name: n.Name, State: n.State, Capacity: n.Capacity.filled(attrs),
			Load: load[n.Name].filled(attrs), Free: free, Guests: append([]string{}, running[n.Name]...)})
	}
	rep.Warnings = append(rep.Warnings, loadWarnings(c, attrs, load)...)
	for _, n := range c.Nodes {
		if n.State != Online {
			continue
		}
		f := planLoss(c, n.Name, attrs, load)
		if f.Status != StatusOK {
			rep.Survivable = false
		}
		rep.Failures = append(rep.Failures, f)
	}
	return rep
}

// attributeNames lists every utilization attribute a node or guest names.
func attributeNames(c *Cluster) []string {
	all := Amounts{}
	for _, n := range c.Nodes {
		all.add(n.Capacity)
	}
	for _, r := range c.Resources {
		for _, g := range r.Members {
			all.add(g.Need)
		}
	}
	return sortedNames(all)
}

// currentLoad sums, per node, what the guests active there ask for.
func currentLoad(c *Cluster) (load map[string]Amounts, running map[string][]string) {
	load, running = map[string]Amounts{}, map[string][]string{}
	for _, r := range c.Resources {
		for _, g := range r.Members {
			for _, n := range g.Active {
				if load[n] == nil {
					load[n] = Amounts{}
				}
				load[n].add(g.Need)
				if !contains(running[n], g.ID) {
					running[n] = append(running[n], g.ID)
				}
			}
		}
	}
	for _, ids := range running {
		sort.Strings(ids)
	}
	return load, running
}

// unit is what moves as a whole: a primitive, the members of a group that
// ran on the failed node, or one clone instance.
type unit struct {
	res     *Resource
	members []*Guest
	pinned  string // a survivor where the rest of the group runs: the unit must join it
	need    Amounts
}

// lossState is the survivors' state while one loss is planned.
type lossState struct {
	attrs     []string
	survivors []string
	free      map[string]Amounts
	guests    map[string]int               // guests per survivor: Pacemaker's tie-break
	inst      map[*Resource]map[string]int // clone instances per survivor
	nodes     int                          // configured nodes: the default clone-max
}

func planLoss(c *Cluster, failed string, attrs []string, load map[string]Amounts) Failure {
	s := &lossState{attrs: attrs, free: map[string]Amounts{}, guests: map[string]int{},
		inst: map[*Resource]map[string]int{}, nodes: len(c.Nodes)}
	survivor := map[string]bool{}
	for _, n := range c.Nodes {
		if n.State != Online || n.Name == failed {
			continue
		}
		survivor[n.Name] = true
		s.survivors = append(s.survivors, n.Name)
		free := n.Capacity.filled(attrs)
		free.sub(load[n.Name])
		s.free[n.Name] = free
	}
	for _, r := range c.Resources {
		for _, g := range r.Members {
			for _, n := range g.Active {
				if survivor[n] {
					s.guests[n]++
				}
			}
		}
		if r.Kind == Clone {
			s.inst[r] = map[string]int{}
			for _, n := range s.survivors {
				s.inst[r][n] = instancesOn(r, n)
			}
		}
	}
	units := movingUnits(c, failed, survivor)
	sort.SliceStable(units, func(i, j int) bool { return larger(units[i], units[j]) })

	f := Failure{Node: failed, Status: StatusOK, Guests: []Move{}, Unplaced: []string{},
		Shortfall: Amounts{}.filled(attrs), FreeAfter: map[string]Amounts{}}
	demand := Amounts{}
	var noRoom, notAllowed []string
	for _, u := range units {
		for _, mv := range s.place(u) {
			mv.Need = mv.Need.filled(attrs)
			f.Guests = append(f.Guests, mv)
			switch mv.Result {
			case NoRoom:
				demand.add(mv.Need)
				noRoom = append(noRoom, mv.ID)
			case NotAllowed:
				notAllowed = append(notAllowed, mv.ID)
			}
		}
	}
	f.Unplaced = append(append(f.Unplaced, noRoom...), notAllowed...)
	freeSum := Amounts{}
	for _, n := range s.survivors {
		f.FreeAfter[n] = s.free[n].filled(attrs)
		for _, a := range attrs {
			freeSum[a] += max(0, s.free[n][a])
		}
	}
	fragmented := len(noRoom) > 0
	for _, a := range attrs {
		f.Shortfall[a] = max(0, demand[a]-freeSum[a])
		if f.Shortfall[a] > 0 {
			fragmented = false
		}
	}
	var notes []string
	if fragmented {
		notes = append(notes, fmt.Sprintf("the survivors have enough free capacity in total, but no single one has room for %s",
			strings.Join(noRoom, ", ")))
	}
	if len(notAllowed) > 0 {
		notes = append(notes, fmt.Sprintf("location constraints allow %s on no survivor", strings.Join(notAllowed, ", ")))
	}
	f.Note = strings.Join(notes, "; ")
	if len(f.Unplaced) > 0 {
		f.Status = StatusShort
	}
	return f
}

// instancesOn counts a clone's instances on node: for a cloned group, the
// most instances any member has there.
func instancesOn(r *Resource, node string) int {
	n := 0
	for _, m := range r.Members {
		n = max(n, count(m.Active, node))
	}
	return n
}

// movingUnits lists what must restart elsewhere when failed is lost: what
// runs on failed and on no survivor.
func movingUnits(c *Cluster, failed string, survivor map[string]bool) []unit {
	var units []unit
	for _, r := range c.Resources {
		if r.Kind == Clone {
			for j := 0; j < instancesOn(r, failed); j++ {
				var ms []*Guest
				for _, m := range r.Members {
					if count(m.Active, failed) > j {
						ms = append(ms, m)
					}
				}
				units = append(units, newUnit(r, ms, ""))
			}
			continue
		}
		var moving []*Guest
		pinned := ""
		for _, m := range r.Members {
			on := ""
			for _, n := range m.Active {
				if survivor[n] {
					on = n
					break
				}
			}
			switch {
			case on != "":
				if pinned == "" {
					pinned = on
				}
			case contains(m.Active, failed):
				moving = append(moving, m)
			}
		}
		if len(moving) > 0 {
			units = append(units, newUnit(r, moving, pinned))
		}
	}
	return units
}

func newUnit(r *Resource, members []*Guest, pinned string) unit {
	need := Amounts{}
	for _, m := range members {
		need.add(m.Need)
	}
	return unit{res: r, members: members, pinned: pinned, need: need}
}

// larger orders units largest first: memory (the larger of hv_memory and
// host_memory), then cpu, then the other attributes, then by id.
func larger(a, b unit) bool {
	ka, kb := sizeKey(a.need), sizeKey(b.need)
	for i := range ka {
		if ka[i] != kb[i] {
			return ka[i] > kb[i]
		}
	}
	return a.members[0].ID < b.members[0].ID
}

func sizeKey(need Amounts) [3]int64 {
	var other int64
	for k, v := range need {
		if k != "hv_memory" && k != "host_memory" && k != "cpu" {
			other += v
		}
	}
	return [3]int64{max(need["hv_memory"], need["host_memory"]), need["cpu"], other}
}

// place finds a survivor for a unit and takes the capacity it uses.
func (s *lossState) place(u unit) []Move {
	var allowed []string
	for _, n := range s.survivors {
		if u.res.allows(n) && (u.pinned == "" || n == u.pinned) {
			allowed = append(allowed, n)
		}
	}
	if u.res.Kind == Clone {
		cloneMax, nodeMax := u.res.CloneMax, u.res.CloneNodeMax
		if cloneMax == 0 {
			cloneMax = s.nodes
		}
		if nodeMax == 0 {
			nodeMax = 1
		}
		total := 0
		for _, n := range s.survivors {
			total += s.inst[u.res][n]
		}
		var room []string
		for _, n := range allowed {
			if s.inst[u.res][n] < nodeMax {
				room = append(room, n)
			}
		}
		if total >= cloneMax || len(room) == 0 {
			return moves(u, u.members, "", CloneLimit)
		}
		allowed = room
	}
	switch {
	case len(s.survivors) == 0:
		return moves(u, u.members, "", NoRoom) // the last node: there is no room anywhere
	case len(allowed) == 0:
		return moves(u, u.members, "", NotAllowed)
	}
	if to := s.best(allowed, u.need); to != "" {
		s.take(u, to, u.members)
		return moves(u, u.members, to, Placed)
	}
	// Pacemaker's fallback for a group that fits nowhere as a whole: its
	// first member alone, then the next members while they fit beside it.
	to := s.best(allowed, u.members[0].Need)
	if to == "" {
		return moves(u, u.members, "", NoRoom)
	}
	free := s.free[to].clone()
	n := 0
	for n < len(u.members) && free.covers(u.members[n].Need) {
		free.sub(u.members[n].Need)
		n++
	}
	s.take(u, to, u.members[:n])
	return append(moves(u, u.members[:n], to, Placed), moves(u, u.members[n:], "", NoRoom)...)
}

// take books members on node (their capacity, the guest and instance counts).
func (s *lossState) take(u unit, node string, members []*Guest) {
	for _, m := range members {
		s.free[node].sub(m.Need)
	}
	s.guests[node] += len(members)
	if u.res.Kind == Clone {
		s.inst[u.res][node]++
	}
}

// best returns the node of nodes with room for need and the most free
// capacity, compared like Pacemaker's balanced strategy; "" if none has room.
func (s *lossState) best(nodes []string, need Amounts) string {
	best := ""
	for _, n := range nodes {
		if s.free[n].covers(need) && (best == "" || s.better(n, best)) {
			best = n
		}
	}
	return best
}

// better says whether a has more free capacity than b: more attributes in
// which it has more room; then fewer guests; then the lower name.
func (s *lossState) better(a, b string) bool {
	vote := 0
	for _, k := range s.attrs {
		switch fa, fb := s.free[a][k], s.free[b][k]; {
		case fa > fb:
			vote--
		case fa < fb:
			vote++
		}
	}
	if vote != 0 {
		return vote < 0
	}
	if s.guests[a] != s.guests[b] {
		return s.guests[a] < s.guests[b]
	}
	return a < b
}

func moves(u unit, members []*Guest, to, result string) []Move {
	out := make([]Move, 0, len(members))
	for _, m := range members {
		mv := Move{ID: m.ID, Need: m.Need, To: to, Result: result}
		switch u.res.Kind {
		case Group:
			mv.Group = u.res.ID
		case Clone:
			mv.Clone = u.res.ID
		}
		out = append(out, mv)
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func contains(list []string, s string) bool { return count(list, s) > 0 }
