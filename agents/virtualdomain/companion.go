package virtualdomain

import (
	"strings"
	"syscall"

	"github.com/kvmha/kvmha/internal/twin"
)

// The agent is one file, built in two layers (see package twin for why):
// the outer binary is pure Go, and carries its Ceph-linked twin
// (VirtualDomain-ceph, built with -tags kvmha_ceph) as embedded bytes. Only
// start and the depth-20 monitor need Ceph; for those the outer binary execs
// the twin from memory: same pid, arguments and environment.

// companionOverride names an on-disk twin to exec instead, for tests of a
// build that embeds none.
const companionOverride = "KVMHA_VIRTUALDOMAIN_CEPH"

// ExecCephCompanion replaces the process with the Ceph-linked twin when the
// action needs Ceph. image is the embedded twin (nil in a build without
// one). It returns only when the action does not need Ceph, when there is no
// twin, or when exec failed; the action then runs here, and one that needs
// Ceph fails saying this build has no Ceph support.
func ExecCephCompanion(args, environ []string, image []byte) {
	if !needsCeph(args, environ) {
		return
	}
	if path := lookupEnv(environ, companionOverride); path != "" {
		_ = syscall.Exec(path, args, environ) // returns only on failure
		return
	}
	if len(image) > 0 {
		_ = twin.Exec("VirtualDomain-ceph", image, args, environ) // returns only on failure
	}
}

// needsCeph reports whether the invocation checks RBD images.
func needsCeph(args, environ []string) bool {
	if len(args) < 2 {
		return false
	}
	switch args[1] {
	case "start":
		return true
	case "monitor", "status":
		level := lookupEnv(environ, "OCF_CHECK_LEVEL")
		if level == "" {
			level = lookupEnv(environ, "OCF_RESKEY_OCF_CHECK_LEVEL")
		}
		return strings.TrimSpace(level) == "20"
	}
	return false
}

// lookupEnv is os.Getenv over an explicit environment (first value wins).
func lookupEnv(environ []string, key string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
