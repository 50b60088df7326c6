package capacity

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Report is the answer for a whole cluster. Its JSON form is the kvmha
// command's output; field names are stable. Every Amounts in it has every
// attribute of Attributes.
type Report struct {
	PlacementStrategy string       `json:"placement_strategy"`
	Attributes        []string     `json:"attributes"`
	Survivable        bool         `json:"survivable"` // every single loss is OK
	Nodes             []NodeReport `json:"nodes"`
	Failures          []Failure    `json:"failures"`
	Warnings          []string     `json:"warnings"`
}

// NodeReport is a node's current load.
type NodeReport struct {
	Name     string    `json:"name"`
	State    NodeState `json:"state"`
	Capacity Amounts   `json:"capacity"` // an attribute the node lacks shows as 0
	Load     Amounts   `json:"load"`
	Free     Amounts   `json:"free"` // capacity - load; negative when over capacity
	Guests   []string  `json:"guests"`
}

// Failure is the plan for the loss of one node.
type Failure struct {
	Node     string   `json:"node"`
	Status   string   `json:"status"` // OK or SHORT
	Guests   []Move   `json:"guests"` // in placement order
	Unplaced []string `json:"unplaced"`
	// Shortfall is, per attribute, what the no-room guests ask for minus the
	// free capacity left on the survivors, floored at 0.
	Shortfall Amounts            `json:"shortfall"`
	FreeAfter map[string]Amounts `json:"free_after"` // survivors' free capacity after the plan
	Note      string             `json:"note,omitempty"`
}

// Move is where one guest of the failed node goes.
type Move struct {
	ID     string  `json:"id"`
	Group  string  `json:"group,omitempty"`
	Clone  string  `json:"clone,omitempty"`
	Need   Amounts `json:"need"`
	To     string  `json:"to"` // "" unless placed
	Result string  `json:"result"`
}

// WriteTable prints the report for people: the nodes' load, then for each
// node's loss the verdict and where each guest goes, then the warnings.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "placement-strategy: %s\n\n", r.PlacementStrategy)
	head := []string{"NODE", "STATE"}
	for _, a := range r.Attributes {
		head = append(head, strings.ToUpper(a))
	}
	fmt.Fprintln(tw, strings.Join(append(head, "GUESTS"), "\t"))
	for _, n := range r.Nodes {
		row := []string{n.Name, string(n.State)}
		for _, a := range r.Attributes {
			row = append(row, fmt.Sprintf("%d/%d", n.Load[a], n.Capacity[a]))
		}
		fmt.Fprintln(tw, strings.Join(append(row, strings.Join(n.Guests, " ")), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "(used/capacity; memory in MiB)")

	for _, f := range r.Failures {
		fmt.Fprintln(w)
		verdict := f.Status
		if f.Status != StatusOK && hasAny(f.Shortfall) {
			verdict += " by " + formatAmounts(f.Shortfall, r.Attributes)
		}
		if len(f.Guests) == 0 {
			verdict += " (no guests)"
		}
		fmt.Fprintf(w, "loss of %s: %s\n", f.Node, verdict)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, m := range f.Guests {
			id := m.ID
			if m.Group != "" {
				id += " (group " + m.Group + ")"
			} else if m.Clone != "" {
				id += " (clone " + m.Clone + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t-> %s\n", id, formatAmounts(m.Need, r.Attributes), destination(m))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if f.Note != "" {
			fmt.Fprintf(w, "  note: %s\n", f.Note)
		}
	}
	fmt.Fprintln(w)
	var short []string
	for _, f := range r.Failures {
		if f.Status != StatusOK {
			short = append(short, f.Node)
		}
	}
	switch {
	case len(r.Failures) == 0:
		fmt.Fprintln(w, "No node is online: nothing to plan.")
	case len(short) == 0:
		fmt.Fprintln(w, "The cluster can lose any one node.")
	default:
		fmt.Fprintf(w, "The cluster cannot lose %s without stopping guests.\n", strings.Join(short, " or "))
	}
	for _, warning := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warning)
	}
	return nil
}

func destination(m Move) string {
	switch m.Result {
	case Placed:
		return m.To
	case NoRoom:
		return "nowhere: no room"
	case NotAllowed:
		return "nowhere: not allowed on any survivor"
	case CloneLimit:
		return "not restarted: the clone runs on the survivors"
	}
	return m.Result
}

// formatAmounts writes the non-zero amounts: "cpu 2, hv_memory 2048 MiB".
func formatAmounts(a Amounts, attrs []string) string {
	var parts []string
	for _, k := range attrs {
		if a[k] == 0 {
			continue
		}
		s := fmt.Sprintf("%s %d", k, a[k])
		if strings.Contains(k, "memory") {
			s += " MiB"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func hasAny(a Amounts) bool {
	for _, v := range a {
		if v != 0 {
			return true
		}
	}
	return false
}
