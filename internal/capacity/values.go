package capacity

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxAmount is the largest utilization value: Pacemaker keeps them in a C int.
const maxAmount = math.MaxInt32

// parseAmount reads one utilization value. owner names the resource or node
// in the error.
func parseAmount(owner, name, value string) (int64, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err != nil || v < 0 || v > maxAmount {
		return 0, fmt.Errorf("%s: utilization %s=%q is not a whole number from 0 to %d", owner, name, value, maxAmount)
	}
	return v, nil
}

// Scores as Pacemaker reads them: ±INFINITY is 1000000.
const infinity = 1000000

// parseScore reads a constraint score; ok is false for something Pacemaker
// would not read as a score either.
func parseScore(s string) (score int, ok bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "INFINITY", "+INFINITY":
		return infinity, true
	case "-INFINITY":
		return -infinity, true
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, false
	}
	return int(max(-infinity, min(infinity, v))), true
}

// isTrue is Pacemaker's reading of a boolean option value.
func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "on", "yes", "y", "1":
		return true
	}
	return false
}

// baseID strips a clone instance suffix (":0") from a resource id as the
// status section and crm_mon write them; CIB ids cannot contain a colon.
func baseID(id string) string {
	if i := strings.LastIndexByte(id, ':'); i > 0 {
		if _, err := strconv.Atoi(id[i+1:]); err == nil {
			return id[:i]
		}
	}
	return id
}
