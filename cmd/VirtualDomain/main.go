// Command VirtualDomain is the OCF resource agent ocf:kvmha:VirtualDomain.
//
// make build produces one self-contained file in two layers: this command
// built with -tags kvmha_ceph (links go-ceph), embedded into the same command
// built without cgo and with -tags kvmha_embed. The outer, static layer
// answers monitors in a few milliseconds; start and depth-20 monitors exec
// the embedded twin (see virtualdomain.ExecCephCompanion).
package main

import (
	"os"

	"github.com/kvmha/kvmha/agents/virtualdomain"
	"github.com/kvmha/kvmha/internal/ocf"
)

func main() {
	if cephOpen == nil {
		virtualdomain.ExecCephCompanion(os.Args, os.Environ(), cephTwin)
	}
	ocf.Run(virtualdomain.New(cephOpen))
}
