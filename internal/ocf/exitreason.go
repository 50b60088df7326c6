package ocf

import (
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// exitReasonPrefix is the marker Pacemaker's executor searches agent stderr
// for. It takes the text after the LAST occurrence, up to the end of that line.
const exitReasonPrefix = "ocf-exit-reason:"

// maxExitReasonBytes matches Pacemaker's own cap (EXIT_REASON_MAX_LEN in
// lib/services): anything longer is cut by the executor anyway, so we cut
// first and at a rune boundary rather than mid-character.
const maxExitReasonBytes = 128

// flattenLine turns s into one printable line: control characters (newlines
// included) become spaces, runs of whitespace collapse, invalid UTF-8 is
// replaced. Pacemaker reads a single line, and log collectors split on \n.
func flattenLine(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	pendingSpace := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			pendingSpace = b.Len() > 0
			continue
		}
		if pendingSpace {
			b.WriteByte(' ')
			pendingSpace = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// truncateUTF8 cuts s to at most max bytes without splitting a rune.
func truncateUTF8(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// formatExitReason prepares a reason for the ocf-exit-reason line.
func formatExitReason(reason string) string {
	reason = flattenLine(reason)
	// A reason quoting the marker itself would not confuse Pacemaker (we print
	// it first on the line) but would confuse humans grepping logs.
	reason = defangExitReasonMarker(reason)
	return truncateUTF8(reason, maxExitReasonBytes)
}

// defangExitReasonMarker alters any copy of the marker inside free text, so
// that the one line the runtime prints stays the only one Pacemaker can find.
func defangExitReasonMarker(s string) string {
	if !strings.Contains(s, exitReasonPrefix) {
		return s
	}
	return strings.ReplaceAll(s, exitReasonPrefix, "ocf-exit-reason=")
}

// writeExitReason prints the single line Pacemaker records as the exit reason.
func writeExitReason(w io.Writer, reason string) {
	// A failed write has nowhere better to be reported; the exit code still
	// reaches Pacemaker.
	_, _ = io.WriteString(w, exitReasonPrefix+formatExitReason(reason)+"\n")
}
