package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/doctor"
)

// writeDoctorJSON prints the results as a JSON array, in check order.
func writeDoctorJSON(w io.Writer, results []doctor.Result) error {
	if results == nil {
		results = []doctor.Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}

// writeDoctorTable prints one line per check (status, name, what was
// found), the fix on the next line for warnings and failures, and a
// summary.
func writeDoctorTable(w io.Writer, results []doctor.Result, took time.Duration) error {
	width := len("CHECK")
	for _, r := range results {
		width = max(width, len(r.Check))
	}
	var b strings.Builder
	counts := map[doctor.Status]int{}
	for _, r := range results {
		counts[r.Status]++
		fmt.Fprintf(&b, "%-4s  %-*s  %s\n", strings.ToUpper(string(r.Status)), width, r.Check, oneLine(r.Detail))
		if r.Fix != "" && (r.Status == doctor.Fail || r.Status == doctor.Warn) {
			fmt.Fprintf(&b, "%-4s  %-*s  fix: %s\n", "", width, "", oneLine(r.Fix))
		}
	}
	checks := "checks"
	if len(results) == 1 {
		checks = "check"
	}
	fmt.Fprintf(&b, "%d %s in %.2fs: %d passed, %d warned, %d failed, %d skipped\n", len(results), checks, took.Seconds(),
		counts[doctor.Pass], counts[doctor.Warn], counts[doctor.Fail], counts[doctor.Skip])
	_, err := io.WriteString(w, b.String())
	return err
}

// oneLine keeps a table row on one line whatever an error message holds.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
