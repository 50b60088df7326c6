package capacity

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// resources reads the top-level resources.
func (r *configReader) resources(res *xnode) error {
	if res == nil {
		return nil
	}
	for e := range res.children() {
		var err error
		switch {
		case e.is("primitive"):
			err = r.primitiveResource(e)
		case e.is("group"):
			err = r.groupResource(e)
		case e.is("clone"), e.is("master"):
			err = r.cloneResource(e)
		case e.is("bundle"):
			if e.hasDescendant("utilization") {
				r.c.warn(fmt.Sprintf("bundle %s has utilization, but bundles are not modelled", e.attr("id", "")))
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *configReader) add(res *Resource, ids ...string) {
	for _, id := range ids {
		r.owner[id] = res
	}
	if len(res.Members) > 0 {
		r.c.Resources = append(r.c.Resources, res)
	}
}

func (r *configReader) primitiveResource(e *xnode) error {
	g, stopped, err := r.guest(e)
	if err != nil {
		return err
	}
	res := &Resource{ID: e.attr("id", ""), Kind: Primitive}
	if g != nil && !stopped {
		res.Members = []*Guest{g}
	}
	r.add(res, res.ID)
	return nil
}

func (r *configReader) groupResource(e *xnode) error {
	res := &Resource{ID: e.attr("id", ""), Kind: Group}
	members, ids, err := r.groupMembers(e)
	if err != nil {
		return err
	}
	if !stoppedRole(r.values(e, "meta_attributes", "resource "+res.ID)) {
		res.Members = members
	}
	r.add(res, append(ids, res.ID)...)
	return nil
}

// groupMembers reads a group's primitives in order. A member whose
// target-role is Stopped ends the group: the members after it are colocated
// with it and cannot run either.
func (r *configReader) groupMembers(e *xnode) (members []*Guest, ids []string, err error) {
	ended := false
	for p := range e.elements("primitive") {
		ids = append(ids, p.attr("id", ""))
		g, stopped, err := r.guest(p)
		if err != nil {
			return nil, nil, err
		}
		ended = ended || stopped
		if g != nil && !ended {
			members = append(members, g)
		}
	}
	return members, ids, nil
}

func (r *configReader) cloneResource(e *xnode) error {
	res := &Resource{ID: e.attr("id", ""), Kind: Clone}
	owner := "resource " + res.ID
	meta := r.values(e, "meta_attributes", owner)
	for name, dst := range map[string]*int{"clone-max": &res.CloneMax, "clone-node-max": &res.CloneNodeMax} {
		if s, ok := meta[name]; ok {
			v, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || v < 0 {
				r.c.warn(fmt.Sprintf("%s: %s=%q is not a number; Pacemaker's default is used", owner, name, s))
				continue
			}
			*dst = v
		}
	}
	ids := []string{res.ID}
	var members []*Guest
	if p := e.element("primitive"); p != nil {
		g, stopped, err := r.guest(p)
		if err != nil {
			return err
		}
		ids = append(ids, p.attr("id", ""))
		if g != nil && !stopped {
			members = []*Guest{g}
		}
	} else if grp := e.element("group"); grp != nil {
		var more []string
		var err error
		if members, more, err = r.groupMembers(grp); err != nil {
			return err
		}
		if stoppedRole(r.values(grp, "meta_attributes", "resource "+grp.attr("id", ""))) {
			members = nil
		}
		ids = append(append(ids, grp.attr("id", "")), more...)
	}
	if !stoppedRole(meta) {
		res.Members = members
	}
	r.add(res, ids...)
	return nil
}

// guest reads a primitive: its utilization (over its template's) and whether
// its own target-role is Stopped. g is nil when it has no utilization.
func (r *configReader) guest(e *xnode) (g *Guest, stopped bool, err error) {
	id := e.attr("id", "")
	if id == "" {
		return nil, false, errors.New("a primitive has no id")
	}
	owner := "resource " + id
	need := Amounts{}
	meta := map[string]string{}
	if name := e.attr("template", ""); name != "" {
		if t := r.byID([]byte(name)); t != nil && t.is("template") {
			if need, err = r.utilization(t, owner+" (template "+name+")"); err != nil {
				return nil, false, err
			}
			meta = r.values(t, "meta_attributes", owner)
		} else {
			r.c.warn(fmt.Sprintf("%s uses template %s, which does not exist", owner, name))
		}
	}
	own, err := r.utilization(e, owner)
	if err != nil {
		return nil, false, err
	}
	for k, v := range own {
		need[k] = v
	}
	for k, v := range r.values(e, "meta_attributes", owner) {
		meta[k] = v
	}
	if len(need) > 0 {
		g = &Guest{ID: id, Need: need}
	}
	return g, stoppedRole(meta), nil
}

func stoppedRole(meta map[string]string) bool {
	return strings.EqualFold(strings.TrimSpace(meta["target-role"]), "Stopped")
}
