package fencerbd

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Bounds of expire. Ceph stores the expiry as 32-bit seconds since 1970
// (good until 2106), so the upper bound keeps now+expire representable.
const (
	minExpire = time.Second
	maxExpire = 50 * 365 * 24 * time.Hour
)

var expireUnits = map[byte]time.Duration{
	's': time.Second,
	'm': time.Minute,
	'h': time.Hour,
	'd': 24 * time.Hour,
	'w': 7 * 24 * time.Hour,
	'y': 365 * 24 * time.Hour,
}

// parseExpire reads a whole number with an optional unit: "3600", "3600s",
// "90m", "12h", "30d", "8w", "10y".
func parseExpire(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("expire is empty")
	}
	unit := time.Second
	if u, ok := expireUnits[t[len(t)-1]]; ok {
		unit, t = u, t[:len(t)-1]
	}
	if t == "" || strings.Trim(t, "0123456789") != "" {
		return 0, fmt.Errorf("expire %q: use a whole number with an optional unit s, m, h, d, w or y", agentlog.Clip(s))
	}
	// Leading zeros aside, a number of more than 12 digits is too large in
	// any unit; counting digits first keeps n from overflowing.
	digits := strings.TrimLeft(t, "0")
	var n int64
	for i := 0; i < len(digits) && i < 13; i++ {
		n = n*10 + int64(digits[i]-'0')
	}
	if len(digits) > 12 || n > int64(maxExpire/unit) {
		return 0, fmt.Errorf("expire %q is too large: at most %d years", agentlog.Clip(s), int(maxExpire/expireUnits['y']))
	}
	d := time.Duration(n) * unit
	if d < minExpire {
		return 0, fmt.Errorf("expire %q is shorter than a second", agentlog.Clip(s))
	}
	return d, nil
}
