package capacity

import (
	"fmt"
	"strings"
)

// loadWarnings points at what makes the answer less useful than it looks.
func loadWarnings(c *Cluster, attrs []string, load map[string]Amounts) []string {
	var w []string
	if c.Strategy == "default" {
		w = append(w, `placement-strategy is "default": Pacemaker ignores utilization and may overload hosts `+
			`(set it to balanced, utilization or minimal); the plan shows what would fit`)
	}
	asked := Amounts{}
	for _, r := range c.Resources {
		for _, g := range r.Members {
			asked.add(g.Need)
		}
	}
	for _, a := range attrs {
		if _, ok := asked[a]; !ok {
			continue
		}
		var lacking []string
		for _, n := range c.Nodes {
			if _, ok := n.Capacity[a]; !ok && n.State == Online {
				lacking = append(lacking, n.Name)
			}
		}
		switch len(lacking) {
		case 0:
		case 1:
			w = append(w, fmt.Sprintf("node %s defines no %s capacity: Pacemaker counts it as 0 and places no resource there that asks for %s", lacking[0], a, a))
		default:
			w = append(w, fmt.Sprintf("nodes %s define no %s capacity: Pacemaker counts it as 0 and places no resource there that asks for %s", strings.Join(lacking, ", "), a, a))
		}
	}
	for _, n := range c.Nodes {
		var over []string
		for _, a := range attrs {
			capa, ok := n.Capacity[a]
			if ok && load[n.Name][a] > capa {
				over = append(over, fmt.Sprintf("%s %d of %d", a, load[n.Name][a], capa))
			}
		}
		if len(over) > 0 {
			w = append(w, fmt.Sprintf("node %s uses more than its capacity: %s", n.Name, strings.Join(over, ", ")))
		}
		if n.State != Online && len(load[n.Name]) > 0 {
			w = append(w, fmt.Sprintf("node %s is %s but guests are active there: no plan moves them", n.Name, n.State))
		}
	}
	return w
}
