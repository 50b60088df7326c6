package doctor

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Pacemaker reads its time values in two ways, and the checks must read
// them the same way to judge what the cluster really does:
//
//   - cluster options of type "time" (stonith-timeout) go through its
//     interval parser: an ISO 8601 duration when the value starts with P,
//     otherwise one number and an optional unit (pacemakerInterval);
//   - the fencer reads a device's pcmk_<action>_timeout with C's atoi, as
//     whole seconds: "90s" is 90 s, but "2min" is 2 s and "500ms" 500 s
//     (fencerSeconds). Pacemaker 2.1 documents them as "time" values all
//     the same, which makes units there a trap worth reporting.

// maxPacemakerTime bounds what the parsers return, so that sums of a few
// values cannot overflow a Duration (Pacemaker clips to its own maxima).
const maxPacemakerTime = 100 * 365 * 24 * time.Hour

// pacemakerInterval reads a cluster option of type "time" as Pacemaker 2.1
// does: "90", "90s", "90 sec", "2min", "1h", "500ms", "PT1M30S". The number
// is an integer: a fraction is ignored ("1.5s" is 1 s), and the unit is
// matched by its first letters, so that "1m30s" is one minute. ok is false
// for what Pacemaker refuses (it then uses the option's default).
func pacemakerInterval(s string) (d time.Duration, ok bool) {
	s = strings.TrimLeft(s, " \t\n\r\f\v")
	if strings.HasPrefix(s, "P") {
		return isoDuration(s)
	}
	num := s[:len(s)-len(strings.TrimLeft(s, "0123456789."))]
	if num == "" {
		return 0, false
	}
	digits := num[:len(num)-len(strings.TrimLeft(num, "0123456789"))]
	if digits == "" { // ".5": Pacemaker's integer scan finds no number
		return 0, false
	}
	unit := strings.ToLower(strings.TrimLeft(s[len(num):], " \t\n\r\f\v"))
	var scale time.Duration
	switch {
	case strings.HasPrefix(unit, "ms"):
		scale = time.Millisecond
	case strings.HasPrefix(unit, "us"):
		scale = time.Microsecond
	case strings.HasPrefix(unit, "s"):
		scale = time.Second
	case strings.HasPrefix(unit, "m"):
		scale = time.Minute
	case strings.HasPrefix(unit, "h"):
		scale = time.Hour
	case unit == "":
		scale = time.Second
	default:
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n > uint64(maxPacemakerTime/scale) {
		return maxPacemakerTime, true
	}
	d = time.Duration(n) * scale
	if scale == time.Microsecond {
		d = d.Truncate(time.Millisecond) // Pacemaker counts milliseconds
	}
	return d, true
}

// isoDuration reads the ISO 8601 durations Pacemaker takes for intervals:
// P[nW][nD][T[nH][nM][nS]] with whole numbers. Years and months are
// refused: their length depends on a date, which a timeout has not.
func isoDuration(s string) (time.Duration, bool) {
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return 0, false
	}
	var total time.Duration
	inTime, found := false, false
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return 0, false
			}
			inTime, rest = true, rest[1:]
			continue
		}
		i := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
		if i == 0 || i == len(rest) {
			return 0, false
		}
		n, err := strconv.ParseUint(rest[:i], 10, 32)
		if err != nil {
			return 0, false
		}
		var unit time.Duration
		switch {
		case !inTime && rest[i] == 'W':
			unit = 7 * 24 * time.Hour
		case !inTime && rest[i] == 'D':
			unit = 24 * time.Hour
		case inTime && rest[i] == 'H':
			unit = time.Hour
		case inTime && rest[i] == 'M':
			unit = time.Minute
		case inTime && rest[i] == 'S':
			unit = time.Second
		default:
			return 0, false
		}
		if n > uint64(maxPacemakerTime/unit) {
			n = uint64(maxPacemakerTime / unit)
		}
		total = min(total+time.Duration(n)*unit, maxPacemakerTime)
		found, rest = true, rest[i+1:]
	}
	return total, found
}

// fencerSeconds reads a pcmk_<action>_timeout as Pacemaker's fencer does:
// C's atoi, whole seconds, whatever follows the digits ignored. What it
// cannot read is 0 (the fencer then gives the agent no time at all).
func fencerSeconds(s string) time.Duration {
	s = strings.TrimLeft(s, " \t\n\r\f\v")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	digits := s[:len(s)-len(strings.TrimLeft(s, "0123456789"))]
	if digits == "" || neg {
		return 0
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n > math.MaxInt32 { // atoi's int: glibc clips to the range
		n = math.MaxInt32
	}
	return time.Duration(n) * time.Second
}

// agentSeconds reads a fence agent's option of type "second" as kvmha's fence
// runtime does (internal/fence): a decimal number, a trailing "s" allowed.
func agentSeconds(s string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "s"), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 1e6 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// seconds prints d for messages: "18s", "2.5s", "1m30s".
func seconds(d time.Duration) string {
	if d%time.Second == 0 || d >= time.Minute {
		return d.Round(time.Second).String()
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// ceilSeconds is d rounded up to whole seconds, for values a fix proposes.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}
