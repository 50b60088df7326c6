// Command HostHeartbeat is the ocf:kvmha:HostHeartbeat resource agent; see
// agents/hostheartbeat.
package main

import (
	"github.com/kvmha/kvmha/agents/hostheartbeat"
	"github.com/kvmha/kvmha/internal/ocf"
)

func main() {
	ocf.Run(hostheartbeat.New())
}
