// Command o2cb is the OCF resource agent ocf:kvmha:o2cb (see agents/o2cb).
package main

import (
	"github.com/kvmha/kvmha/agents/o2cb"
	"github.com/kvmha/kvmha/internal/ocf"
)

func main() { ocf.Run(o2cb.New()) }
