package main

import (
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// The report: report.md (what an operator reads), report.json (the same for tools),
// timeline.svg (per guest, which node ran it over time; faults as bands, fencing and
// violations marked) and timeline.jsonl (every event).

type summary struct {
	Seed       uint64        `json:"seed"`
	Guests     int           `json:"guests"`
	Faults     []faultResult `json:"faults"`
	Violations []violation   `json:"violations"`
	Leftovers  []string      `json:"leftovers"`
	RingReads  int           `json:"ring_reads"`
	Start      time.Time     `json:"start"`
	End        time.Time     `json:"end"`
	Sabotage   string        `json:"sabotage,omitempty"`
	SabotageAt time.Time     `json:"sabotage_at,omitempty"`
}

// stats are min, median, p95 and max of durations.
type stats struct {
	n                  int
	min, med, p95, max time.Duration
}

func statsOf(ds []time.Duration) stats {
	if len(ds) == 0 {
		return stats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(s)-1) + 0.5)
		return s[i]
	}
	return stats{n: len(s), min: s[0], med: at(0.5), p95: at(0.95), max: s[len(s)-1]}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f", d.Seconds()) }

func writeReport(dir string, s summary, tl *timeline) (string, error) {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), data, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "timeline.svg"), []byte(timelineSVG(s, tl.snapshot())), 0o644); err != nil {
		return "", err
	}
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# kvmha campaign, seed %d", s.Seed)
	p("")
	p("%s to %s (%s), %d guests, %d faults%s.", s.Start.Format("2006-01-02 15:04:05"), s.End.Format("15:04:05"),
		s.End.Sub(s.Start).Round(time.Second), s.Guests, len(s.Faults), map[bool]string{true: ", sabotage " + s.Sabotage, false: ""}[s.Sabotage != ""])
	p("Rerun: `make campaign CAMPAIGN_SEED=%d CAMPAIGN_FAULTS=%d CAMPAIGN_GUESTS=%d`.", s.Seed, len(s.Faults), s.Guests)
	p("")
	p("![timeline](timeline.svg)")
	p("")
	p("## Verdicts")
	p("")
	split, lost, other, sabotaged := 0, 0, 0, 0
	for _, v := range s.Violations {
		switch {
		case !s.SabotageAt.IsZero() && !v.At.Before(s.SabotageAt):
			sabotaged++
		case strings.Contains(v.What, "acknowledged writes"):
			lost++
		case strings.Contains(v.What, "split-brain") || strings.Contains(v.What, "runs on") || strings.Contains(v.What, "generation") ||
			strings.Contains(v.What, "started on") || strings.Contains(v.What, "had started writing"):
			split++
		default:
			other++
		}
	}
	unrecovered := 0
	for _, f := range s.Faults {
		if f.Running < 0 || f.Clean < 0 {
			unrecovered++
		}
	}
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "FAIL"
	}
	p("| rule | verdict | detail |")
	p("|---|---|---|")
	p("| no split-brain writes | %s | %d violations (%d ring reads, every 200 ms of libvirt and consoles) |", verdict(split == 0), split, s.RingReads)
	p("| no lost acknowledged writes | %s | %d violations |", verdict(lost == 0), lost)
	p("| recovery after every fault | %s | %d of %d faults not recovered or not clean in time |", verdict(unrecovered == 0), unrecovered, len(s.Faults))
	p("| nothing left for an operator | %s | %s |", verdict(len(s.Leftovers) == 0), orText(strings.Join(s.Leftovers, "; "), "nothing"))
	if other > 0 {
		p("| other | FAIL | %d violations |", other)
	}
	if s.Sabotage != "" {
		p("| the sabotage (%s) is caught | %s | %d violations reported after it (expected) |", s.Sabotage, verdict(sabotaged > 0), sabotaged)
	}
	p("")
	p("## Recovery per fault kind")
	p("")
	p("Running: from the injection until every guest ran once again where Pacemaker has it, over the faults that stopped or moved a guest (the domain left its node, or started on another). Clean: from the heal until, also, every node was online, no action had failed and every guest was acknowledging writes again.")
	p("")
	p("| kind | faults | running: n | min | median | p95 | max | clean: min | median | p95 | max |")
	p("|---|---|---|---|---|---|---|---|---|---|---|")
	byKind := map[string][]faultResult{}
	for _, f := range s.Faults {
		byKind[f.Fault.Kind] = append(byKind[f.Fault.Kind], f)
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		var run, clean []time.Duration
		for _, f := range byKind[k] {
			if len(f.Affected) > 0 && f.Running >= 0 {
				run = append(run, f.Running)
			}
			if f.Clean >= 0 {
				clean = append(clean, f.Clean)
			}
		}
		r, c := statsOf(run), statsOf(clean)
		p("| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s |", k, len(byKind[k]), r.n, secs(r.min), secs(r.med), secs(r.p95), secs(r.max),
			secs(c.min), secs(c.med), secs(c.p95), secs(c.max))
	}
	p("")
	p("## Targets")
	p("")
	target := func(kind string, bound time.Duration) {
		var run []time.Duration
		for _, f := range byKind[kind] {
			if len(f.Affected) > 0 && f.Running >= 0 {
				run = append(run, f.Running)
			}
		}
		st := statsOf(run)
		p("- %s -> guests running elsewhere: p95 %ss over %d faults (target %s): %s", kind, secs(st.p95), st.n, bound, verdict(st.n == 0 || st.p95 <= bound))
	}
	target(kindKill, 15*time.Second)
	target(kindNetsplit, 20*time.Second)
	hangViolations := 0
	for _, v := range s.Violations {
		if strings.Contains(v.What, "libvirtd hung") {
			hangViolations++
		}
	}
	p("- %s -> guests started elsewhere while their qemu lived: %d over %d faults (target 0): %s", kindLibvirtHang, hangViolations, len(byKind[kindLibvirtHang]), verdict(hangViolations == 0))
	p("")
	p("## Faults")
	p("")
	p("| # | at (s) | fault | running | clean | guests affected | problems |")
	p("|---|---|---|---|---|---|---|")
	for _, f := range s.Faults {
		p("| %d | %s | %s | %s | %s | %s | %s |", f.N, secs(f.Inject.Sub(s.Start)), f.Fault, fmtDur(f.Running), fmtDur(f.Clean),
			strings.Join(f.Affected, " "), strings.Join(f.Problems, "; "))
	}
	if len(s.Violations) > 0 {
		p("")
		p("## Violations")
		for _, v := range s.Violations {
			p("")
			p("### %s (at %s s)", v.What, secs(v.At.Sub(s.Start)))
			p("")
			p("```")
			for _, e := range tl.around(v.At, 15*time.Second, func(e event) bool { return e.Kind != evHolders || strings.Contains(v.What, e.Guest) }) {
				p("%s", e)
			}
			p("```")
		}
	}
	path := filepath.Join(dir, "report.md")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// timelineSVG draws, per guest, which node ran it (libvirt's view) over time.
func timelineSVG(s summary, events []event) string {
	const (
		left, top, rowH, width = 70, 40, 26, 1400
	)
	guests := make([]string, 0, s.Guests)
	for k := 1; k <= s.Guests; k++ {
		guests = append(guests, fmt.Sprintf("vm%d", k))
	}
	end := s.End
	if end.IsZero() || end.Before(s.Start.Add(time.Second)) {
		end = s.Start.Add(time.Second)
	}
	span := end.Sub(s.Start).Seconds()
	x := func(t time.Time) float64 {
		v := float64(left) + (t.Sub(s.Start).Seconds()/span)*float64(width-left-20)
		return max(float64(left), min(v, float64(width-20)))
	}
	height := top + rowH*len(guests) + 60
	colors := map[string]string{"node1": "#4e79a7", "node2": "#59a14f", "node3": "#f28e2b", "node4": "#b07aa1", "node5": "#76b7b2"}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="16" font-size="13">kvmha campaign, seed %d: which node runs each guest (libvirt, every 200 ms); grey bands: faults; red triangles: fencing; red lines: violations</text>`+"\n", left, s.Seed)
	// Fault bands.
	for _, f := range s.Faults {
		x0, x1 := x(f.Inject), x(f.Heal)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#999" fill-opacity="0.18"><title>#%d %s</title></rect>`+"\n",
			x0, top-8, max(x1-x0, 1.5), rowH*len(guests)+8, f.N, html.EscapeString(f.Fault.String()))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="9" fill="#555">%d</text>`+"\n", x0, top-10, f.N)
	}
	// Per guest: a segment per (node, running interval); two at once are drawn half height.
	for gi, g := range guests {
		y := top + gi*rowH
		fmt.Fprintf(&b, `<text x="8" y="%d">%s</text>`+"\n", y+rowH/2+4, g)
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#ddd"/>`+"\n", left, y+rowH, width-20, y+rowH)
		runningSince := map[string]time.Time{}
		type seg struct {
			node     string
			from, to time.Time
		}
		var segs []seg
		for _, e := range events {
			if e.Kind == evDomain && e.Guest == g {
				if e.State == "running" {
					if _, ok := runningSince[e.Node]; !ok {
						runningSince[e.Node] = e.T
					}
				} else if from, ok := runningSince[e.Node]; ok {
					segs = append(segs, seg{e.Node, from, e.T})
					delete(runningSince, e.Node)
				}
			}
		}
		for n, from := range runningSince {
			segs = append(segs, seg{n, from, end})
		}
		for _, sg := range segs {
			overlap := false
			for _, o := range segs {
				if o.node != sg.node && o.from.Before(sg.to) && sg.from.Before(o.to) {
					overlap = true
				}
			}
			h, yy := rowH-8, y+4
			if overlap {
				h = (rowH - 8) / 2
				if sg.node > "node2" {
					yy += h
				}
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s on %s</title></rect>`+"\n",
				x(sg.from), yy, max(x(sg.to)-x(sg.from), 0.8), h, colors[sg.node], g, sg.node)
		}
	}
	// Fencing and violations.
	base := top + rowH*len(guests)
	for _, e := range events {
		switch e.Kind {
		case evFence:
			xx := x(e.T)
			fmt.Fprintf(&b, `<path d="M%.1f %d l-4 -8 h8 z" fill="#d62728"><title>%s: %s %s</title></path>`+"\n", xx, top-2, html.EscapeString(e.T.Format("15:04:05")), e.Node, html.EscapeString(e.State))
		case evViolation:
			xx := x(e.T)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#d62728" stroke-width="2"><title>%s</title></line>`+"\n", xx, top-8, xx, base, html.EscapeString(e.Detail))
		}
	}
	// Legend and time axis.
	lx := left
	for _, n := range []string{"node1", "node2", "node3"} {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", lx, base+30, colors[n], lx+16, base+40, n)
		lx += 80
	}
	step := niceStep(span)
	for t := 0.0; t <= span; t += step {
		xx := x(s.Start.Add(time.Duration(t * float64(time.Second))))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="9" fill="#555">%.0fs</text>`+"\n", xx, base+15, t)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func niceStep(span float64) float64 {
	for _, s := range []float64{10, 30, 60, 120, 300, 600, 1200, 1800, 3600} {
		if span/s <= 20 {
			return s
		}
	}
	return 7200
}
