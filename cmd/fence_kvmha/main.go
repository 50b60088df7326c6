// Command fence_kvmha fences hosts through the kvmha storage heartbeat;
// see agents/fencekvmha.
package main

import (
	"github.com/kvmha/kvmha/agents/fencekvmha"
	"github.com/kvmha/kvmha/internal/fence"
)

func main() {
	fence.Run(fencekvmha.New())
}
