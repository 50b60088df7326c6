package capacity

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// utilXML writes a utilization set from "cpu=1,hv_memory=1024".
func utilXML(owner, spec string) string {
	if spec == "" {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<utilization id="%s-u">`, owner)
	for _, kv := range strings.Split(spec, ",") {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, `<nvpair id="%s-u-%s" name="%s" value="%s"/>`, owner, k, k, v)
	}
	return b.String() + "</utilization>"
}

// prim writes a primitive with utilization and optional inner XML.
func prim(id, util string, inner ...string) string {
	return fmt.Sprintf(`<primitive id="%s" class="ocf" provider="heartbeat" type="Dummy">%s%s</primitive>`,
		id, utilXML(id, util), strings.Join(inner, ""))
}

func meta(owner string, kv ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<meta_attributes id="%s-m">`, owner)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, `<nvpair id="%s-m-%s" name="%s" value="%s"/>`, owner, kv[i], kv[i], kv[i+1])
	}
	return b.String() + "</meta_attributes>"
}

// cibSpec describes a test CIB. Nodes are "name:util" or "name:util@state"
// (state offline or standby); Placement maps an lrm resource id to the nodes
// where a successful start is recorded.
type cibSpec struct {
	Options     map[string]string
	Nodes       []string
	Resources   string
	Constraints string
	Placement   map[string][]string
}

func (s cibSpec) xml() []byte {
	var b strings.Builder
	b.WriteString(`<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config><cluster_property_set id="opts">`)
	opts := map[string]string{"placement-strategy": "balanced"}
	for k, v := range s.Options {
		opts[k] = v
	}
	for _, k := range sortedKeys(opts) {
		fmt.Fprintf(&b, `<nvpair id="opts-%s" name="%s" value="%s"/>`, k, k, opts[k])
	}
	b.WriteString(`</cluster_property_set></crm_config><nodes>`)
	type nodeSpec struct{ name, state string }
	var nodes []nodeSpec
	for i, spec := range s.Nodes {
		spec, state, _ := strings.Cut(spec, "@")
		name, util, _ := strings.Cut(spec, ":")
		nodes = append(nodes, nodeSpec{name, state})
		fmt.Fprintf(&b, `<node id="%d" uname="%s">%s`, i+1, name, utilXML("n-"+name, util))
		if state == "standby" {
			fmt.Fprintf(&b, `<instance_attributes id="n-%s-a"><nvpair id="n-%s-a-s" name="standby" value="on"/></instance_attributes>`, name, name)
		}
		b.WriteString(`</node>`)
	}
	fmt.Fprintf(&b, `</nodes><resources>%s</resources><constraints>%s</constraints></configuration><status>`, s.Resources, s.Constraints)
	for i, n := range nodes {
		if n.state == "offline" {
			fmt.Fprintf(&b, `<node_state id="%d" uname="%s" in_ccm="false" crmd="offline" join="down" expected="down"/>`, i+1, n.name)
			continue
		}
		fmt.Fprintf(&b, `<node_state id="%d" uname="%s" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="%d"><lrm_resources>`, i+1, n.name, i+1)
		for _, id := range sortedKeys(s.Placement) {
			for _, on := range s.Placement[id] {
				if on == n.name {
					fmt.Fprintf(&b, `<lrm_resource id="%s" class="ocf" provider="heartbeat" type="Dummy">`+
						`<lrm_rsc_op id="%s_last_0" operation_key="%s_start_0" operation="start" call-id="5" rc-code="0" op-status="0" interval="0" on_node="%s"/>`+
						`</lrm_resource>`, id, id, id, on)
					break
				}
			}
		}
		b.WriteString(`</lrm_resources></lrm></node_state>`)
	}
	b.WriteString(`</status></cib>`)
	return []byte(b.String())
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func mustParse(t *testing.T, data []byte) *Cluster {
	t.Helper()
	c, err := ParseCIB(data)
	if err != nil {
		t.Fatalf("ParseCIB: %v\n%s", err, data)
	}
	return c
}

func mustPlan(t *testing.T, s cibSpec) *Report {
	t.Helper()
	return Plan(mustParse(t, s.xml()))
}

func failure(t *testing.T, r *Report, node string) Failure {
	t.Helper()
	for _, f := range r.Failures {
		if f.Node == node {
			return f
		}
	}
	t.Fatalf("no failure plan for %s in %+v", node, r.Failures)
	return Failure{}
}

// destinations maps guest id to "node" or the result when not placed.
func destinations(f Failure) map[string]string {
	m := map[string]string{}
	for _, g := range f.Guests {
		if g.Result == Placed {
			m[g.ID] = g.To
		} else {
			m[g.ID] = g.Result
		}
	}
	return m
}

func equalMaps[V comparable](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
