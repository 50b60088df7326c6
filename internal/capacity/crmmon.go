package capacity

import (
	"errors"
	"fmt"
)

// ApplyCrmMon replaces the node states and the guests' placement of c with
// what crm_mon --output-as=xml reports: the scheduler's own reading of the
// status section, which also knows about unclean nodes, migrations under way
// and failed operations. Nodes crm_mon does not list are offline.
func ApplyCrmMon(c *Cluster, data []byte) error {
	root, err := readXML(data, "pacemaker-result", "crm_mon")
	if err != nil {
		return fmt.Errorf("crm_mon output: %w", err)
	}
	nodes := root.SelectElement("nodes")
	if nodes == nil {
		return errors.New("crm_mon output: no nodes element")
	}
	for _, n := range c.Nodes {
		n.State = Offline
	}
	for _, e := range nodes.SelectElements("node") {
		name := e.SelectAttrValue("name", "")
		if name == "" {
			continue
		}
		n := c.node(name)
		if n == nil {
			n = &Node{Name: name, Capacity: Amounts{}}
			c.Nodes = append(c.Nodes, n)
		}
		flag := func(attr string) bool { return e.SelectAttrValue(attr, "") == "true" }
		switch {
		case !flag("online") || flag("unclean") || flag("pending") || flag("shutdown"):
			n.State = Offline
		case flag("maintenance"):
			n.State = Maintenance
		case flag("standby"):
			n.State = Standby
		default:
			n.State = Online
		}
	}
	guests := c.guests()
	for _, g := range guests {
		g.Active = nil
	}
	if res := root.SelectElement("resources"); res != nil {
		for _, e := range res.FindElements(".//resource") {
			g := guests[baseID(e.SelectAttrValue("id", ""))]
			if g == nil || e.SelectAttrValue("active", "true") == "false" {
				continue
			}
			for _, on := range e.SelectElements("node") {
				if name := on.SelectAttrValue("name", ""); name != "" {
					g.Active = append(g.Active, name)
				}
			}
		}
	}
	sortNodes(c)
	return nil
}
