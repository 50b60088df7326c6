// Command kvmha administers kvmha (the heartbeat daemon and its status);
// see internal/admin.
package main

import (
	"os"

	"github.com/kvmha/kvmha/internal/admin"
)

func main() {
	os.Exit(admin.Run())
}
