package heartbeat

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// HostReport is one line of "kvmha heartbeat status".
type HostReport struct {
	Node  string `json:"node"`
	State string `json:"state"` // the record's state, or "unknown"
	// Age is how long the record has not changed: as observed by the local
	// daemon ("observed"), else from the writer's wall clock ("clock").
	AgeSeconds float64 `json:"age_s"`
	AgeSource  string  `json:"age_source"`
	// BackendsOK counts the backends holding a record of the host younger
	// than its timeout; Backends is how many it writes to.
	BackendsOK   int      `json:"backends_ok"`
	Backends     int      `json:"backends"`
	Guests       int      `json:"guests"`
	GuestsIO     int      `json:"guests_with_io"` // guests whose counters are known
	GuestsMoving int      `json:"guests_moving"`
	Watchdog     bool     `json:"watchdog"`
	Errors       []string `json:"errors,omitempty"`
	Record       *Record  `json:"record,omitempty"`
}

// Collect reads every host's record on every backend once. state, when
// fresh, supplies the local daemon's observations (so that ages do not
// depend on the hosts' clocks) and this host's own view.
func Collect(ctx context.Context, backends []Backend, state *State, now time.Duration, wall time.Time) ([]HostReport, []error) {
	f := &Fencer{Backends: backends, Now: func() time.Duration { return now }}
	f.SeedFromState(state)
	if state != nil && !state.Fresh(now) {
		state = nil
	}
	hosts, errs := f.Hosts(ctx)
	reports := make([]HostReport, len(hosts))
	var wg sync.WaitGroup
	for hi, h := range hosts {
		wg.Go(func() {
			recs, rerrs := make([]*Record, len(backends)), make([]error, len(backends))
			for bi, b := range backends {
				rctx, cancel := context.WithTimeout(ctx, readTimeout)
				recs[bi], rerrs[bi] = ReadRecordOf(rctx, b, h)
				cancel()
			}
			seeds := map[string]Sighting{}
			for _, s := range f.Seeds[h] {
				seeds[s.URI] = s
			}
			reports[hi] = hostReport(h, backends, recs, rerrs, seeds, state, now, wall)
		})
	}
	wg.Wait()
	return reports, errs
}

func hostReport(node string, backends []Backend, recs []*Record, errs []error, seeds map[string]Sighting,
	state *State, now time.Duration, wall time.Time) HostReport {
	r := HostReport{Node: node, State: "unknown", AgeSeconds: -1}
	var latest *Record
	for _, rec := range recs {
		if rec != nil && rec.Newer(latest) {
			latest = rec
		}
	}
	for i, err := range errs {
		if err != nil && err != ErrNotFound {
			r.Errors = append(r.Errors, backends[i].URI()+": "+err.Error())
		}
	}
	if latest == nil {
		return r
	}
	r.Record, r.State, r.Backends, r.Watchdog = latest, latest.State, len(latest.Backends), latest.WatchdogMs > 0
	r.Guests = len(latest.Guests) + latest.GuestsMore
	for _, g := range latest.Guests {
		if g.IO != nil {
			r.GuestsIO++
			if g.IO.Moving {
				r.GuestsMoving++
			}
		}
	}
	if state != nil && state.Node == node {
		// This host: the daemon knows when each backend last took a beat.
		r.AgeSource = "observed"
		for _, b := range state.Backends {
			if b.LastOK > 0 && now-b.LastOK < latest.Timeout() {
				r.BackendsOK++
			}
			if age := (now - b.LastOK).Seconds(); b.LastOK > 0 && (r.AgeSeconds < 0 || age < r.AgeSeconds) {
				r.AgeSeconds = age
			}
		}
		return r
	}
	for i, rec := range recs {
		if rec == nil {
			continue
		}
		age, source := wall.Sub(rec.Time()), "clock"
		if s, ok := seeds[backends[i].URI()]; ok && s.Incarnation == rec.Incarnation && s.Seq == rec.Seq {
			age, source = now-s.ChangedAt, "observed"
		}
		if rec.State == StateRunning && age < rec.Timeout() {
			r.BackendsOK++
		}
		if a := age.Seconds(); r.AgeSeconds < 0 || a < r.AgeSeconds || (source == "observed" && r.AgeSource == "clock") {
			r.AgeSeconds, r.AgeSource = max(a, 0), source
		}
	}
	return r
}

// WriteTable prints reports for humans.
func WriteTable(w io.Writer, reports []HostReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSTATE\tAGE\tBACKENDS\tGUESTS\tI/O MOVING\tWATCHDOG")
	for _, r := range reports {
		age := "-"
		if r.State != "unknown" {
			age = fmt.Sprintf("%.1fs", r.AgeSeconds)
			if r.AgeSource == "clock" {
				age = "~" + age
			}
		}
		io := "-"
		if r.GuestsIO > 0 {
			io = fmt.Sprintf("%d/%d", r.GuestsMoving, r.GuestsIO)
		}
		wd := "no"
		if r.Watchdog {
			wd = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%s\t%s\n", r.Node, r.State, age, r.BackendsOK, r.Backends, r.Guests, io, wd)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range reports {
		if len(r.Errors) > 0 {
			fmt.Fprintf(w, "%s: %s\n", r.Node, strings.Join(r.Errors, "; "))
		}
	}
	return nil
}

// WriteGuests prints, for humans, each host's guests as its newest record
// lists them: a guest's I/O counters, then each disk: its target, kind and
// source, where its links lead, its stable ids, whether it is read-only or
// shareable, and its counters. What the record left out is said.
func WriteGuests(w io.Writer, reports []HostReport) error {
	for _, r := range reports {
		rec := r.Record
		if rec == nil {
			continue
		}
		fmt.Fprintf(w, "%s: %d guests", r.Node, len(rec.Guests)+rec.GuestsMore)
		switch {
		case rec.GuestsMore > 0:
			fmt.Fprintf(w, " (%d left out of the record: its slot is full)", rec.GuestsMore)
		case !rec.GuestDisks && len(rec.Guests) > 0:
			fmt.Fprint(w, " (its record lists no disks: an older kvmha)")
		}
		fmt.Fprintln(w)
		for _, g := range rec.Guests {
			fmt.Fprintf(w, "  %s", g.Name)
			if g.UUID != "" {
				fmt.Fprintf(w, " %s", g.UUID)
			}
			if g.IO != nil {
				moving := ""
				if g.IO.Moving {
					moving = ", moving"
				}
				fmt.Fprintf(w, "  %s%s", ioText(g.IO.RdReqs, g.IO.RdBytes, g.IO.WrReqs, g.IO.WrBytes), moving)
			}
			fmt.Fprintln(w)
			for _, d := range g.Disks {
				line := fmt.Sprintf("    %-5s %-7s %s", orDash(d.Target), d.Kind, d.Source)
				if d.Real != "" {
					line += " -> " + d.Real
				}
				if d.Volume != "" {
					line += " (volume " + d.Volume + ")"
				}
				var flags []string
				if d.ReadOnly {
					flags = append(flags, "read-only")
				}
				if d.Shareable {
					flags = append(flags, "shareable")
				}
				if len(flags) > 0 {
					line += " [" + strings.Join(flags, ", ") + "]"
				}
				if len(d.IDs) > 0 {
					line += "  ids " + strings.Join(d.IDs, " ")
				}
				if d.IO != nil {
					line += "  " + ioText(d.IO.RdReqs, d.IO.RdBytes, d.IO.WrReqs, d.IO.WrBytes)
				}
				fmt.Fprintln(w, line)
			}
			if g.DisksMore > 0 || g.DisksIncomplete {
				what := fmt.Sprintf("%d more disks left out", g.DisksMore)
				if g.DisksIncomplete {
					what += ", writable ones among them (or its disks could not be read)"
				}
				fmt.Fprintf(w, "    (%s)\n", what)
			}
		}
	}
	return nil
}

func ioText(rdReqs, rdBytes, wrReqs, wrBytes uint64) string {
	return fmt.Sprintf("rd %d req %d B, wr %d req %d B", rdReqs, rdBytes, wrReqs, wrBytes)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
