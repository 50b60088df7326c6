package doctor_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/kvmha/kvmha/agents/fencekvmha"
	"github.com/kvmha/kvmha/agents/hostheartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat"
)

// fence-timing applies the agents' defaults where the CIB sets nothing; it
// takes them from internal/heartbeat, which internal/ may import (agents/
// builds on internal/, not the other way). This test, outside the package
// as only a test may be, holds the agents' declared defaults to the same
// values.
func TestAgentDefaultsAreHeartbeats(t *testing.T) {
	secs := func(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }
	want := map[string]string{
		"interval":         secs(heartbeat.DefaultInterval),
		"timeout":          secs(heartbeat.DefaultTimeout),
		"watchdog_timeout": secs(heartbeat.DefaultWatchdogTimeout),
		"watchdog_device":  heartbeat.DefaultWatchdogDevice,
	}
	for _, p := range hostheartbeat.New().Params {
		if w, ok := want[p.Name]; ok {
			if p.Default != w {
				t.Errorf("HostHeartbeat's %s defaults to %q, internal/heartbeat's to %q", p.Name, p.Default, w)
			}
			delete(want, p.Name)
		}
	}
	for name := range want {
		t.Errorf("HostHeartbeat has no parameter %s", name)
	}
	found := false
	for _, o := range fencekvmha.New().Doc().Options {
		if o.Name == "margin" {
			found = true
			if o.Default != secs(heartbeat.DefaultMargin) {
				t.Errorf("fence_kvmha's margin defaults to %q, heartbeat.DefaultMargin is %s", o.Default, heartbeat.DefaultMargin)
			}
		}
	}
	if !found {
		t.Error("fence_kvmha has no margin option")
	}
}
