// Command kvmha administers kvmha (the heartbeat daemon and its status);
// see agents/kvmhacmd.
package main

import (
	"os"

	"github.com/kvmha/kvmha/agents/kvmhacmd"
)

func main() {
	os.Exit(kvmhacmd.Run())
}
