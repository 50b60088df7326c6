// Command rbd is the OCF resource agent ocf:kvmha:rbd.
//
// make build produces one self-contained file in two layers: this command
// built with -tags kvmha_ceph (links go-ceph), embedded into the same command
// built without cgo and with -tags kvmha_embed. The outer, static layer runs
// monitor and stop without loading librados; start execs the embedded twin
// (see rbd.ExecCephTwin and package twin).
package main

import (
	"os"

	"github.com/kvmha/kvmha/agents/rbd"
	"github.com/kvmha/kvmha/internal/ocf"
)

func main() {
	if cephOpen == nil {
		rbd.ExecCephTwin(os.Args, os.Environ(), cephTwin)
	}
	ocf.Run(rbd.New(cephOpen))
}
