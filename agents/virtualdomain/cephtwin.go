package virtualdomain

import (
	"slices"
	"strings"

	"github.com/kvmha/kvmha/internal/heartbeat"
)

// NeedsCeph says which actions the static build hands to the agent's
// Ceph-linked twin (internal/twin.Dispatch; the package says why): those
// that check or release RBD images, start, stop and the depth-20 monitor,
// and migrate_from when the start guard reads a rados:// heartbeat backend.
// getenv reads the invocation's environment.
func NeedsCeph(action string, getenv func(string) string) bool {
	switch action {
	case "start", "stop":
		// stop: after a destroy, the killed qemu's hold on the guest's RBD images is
		// released (release.go), which needs a Ceph session.
		return true
	case "migrate_from":
		// A heartbeat parameter that does not parse stays with the static
		// build, which says what is wrong with it.
		specs, err := heartbeat.ParseBackends(getenv("OCF_RESKEY_" + pHeartbeat))
		return err == nil && slices.ContainsFunc(specs, func(s heartbeat.Spec) bool { return s.Scheme == heartbeat.SchemeRADOS })
	case "monitor", "status":
		level := getenv("OCF_CHECK_LEVEL")
		if level == "" {
			level = getenv("OCF_RESKEY_OCF_CHECK_LEVEL")
		}
		return strings.TrimSpace(level) == "20"
	}
	return false
}
