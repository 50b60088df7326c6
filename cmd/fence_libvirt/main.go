// Command fence_libvirt power-fences libvirt guests over libvirt RPC; see
// agents/fencelibvirt.
package main

import (
	"github.com/kvmha/kvmha/agents/fencelibvirt"
	"github.com/kvmha/kvmha/internal/fence"
)

func main() {
	fence.Run(fencelibvirt.New())
}
