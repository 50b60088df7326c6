// Command fence_rbd fences Ceph RBD clients by blocklisting their node's
// addresses; see agents/fencerbd.
package main

import (
	"github.com/kvmha/kvmha/agents/fencerbd"
	"github.com/kvmha/kvmha/internal/fence"
)

func main() {
	fence.Run(fencerbd.New())
}
