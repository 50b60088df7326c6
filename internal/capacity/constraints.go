package capacity

import (
	"fmt"
	"strings"
)

// constraints applies the rsc_location constraints that restrict placement.
func (r *configReader) constraints(cons *xnode, symmetric bool) {
	if !symmetric {
		for _, res := range r.c.Resources {
			res.Allowed = map[string]bool{}
		}
	}
	if cons == nil {
		return
	}
	for e := range cons.elements("rsc_location") {
		id := e.attr("id", "")
		if e.hasAttr("rsc-pattern") {
			r.c.warn(fmt.Sprintf("location constraint %s uses rsc-pattern and is ignored", id))
			continue
		}
		if role := e.attr("role", ""); role != "" && !strings.EqualFold(role, "Started") {
			continue // it restricts one role (promoted instances), not where the resource runs
		}
		targets := r.constraintTargets(e)
		if len(targets) == 0 {
			continue
		}
		node := e.attr("node", "")
		if e.element("rule") != nil || node == "" {
			r.c.warn(fmt.Sprintf("location constraint %s has rules and is ignored", id))
			continue
		}
		score, ok := parseScore(e.attr("score", ""))
		if !ok {
			r.c.warn(fmt.Sprintf("location constraint %s has no valid score and is ignored", id))
			continue
		}
		for _, res := range targets {
			switch {
			case score <= -infinity:
				if res.Banned == nil {
					res.Banned = map[string]bool{}
				}
				res.Banned[node] = true
			case !symmetric && score >= 0:
				res.Allowed[node] = true
			}
		}
	}
}

// constraintTargets returns the modelled resources a location constraint
// names (rsc, or resource_ref in resource sets).
func (r *configReader) constraintTargets(e *xnode) []*Resource {
	ids := []string{e.attr("rsc", "")}
	for set := range e.elements("resource_set") {
		for ref := range set.elements("resource_ref") {
			ids = append(ids, ref.attr("id", ""))
		}
	}
	var out []*Resource
	seen := map[*Resource]bool{}
	for _, id := range ids {
		if res := r.owner[id]; res != nil && len(res.Members) > 0 && !seen[res] {
			seen[res] = true
			out = append(out, res)
		}
	}
	return out
}
