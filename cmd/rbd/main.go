// Command rbd is the OCF resource agent ocf:kvmha:rbd.
//
// make build produces one self-contained file in two layers (internal/twin
// says how and why): start runs in the embedded Ceph-linked twin
// (rbd.NeedsCeph); monitor and stop run in the static build and never load
// librados.
package main

import (
	"os"

	"github.com/kvmha/kvmha/agents/rbd"
	"github.com/kvmha/kvmha/internal/ocf"
	"github.com/kvmha/kvmha/internal/twin"
)

func main() {
	if cephOpen == nil {
		twin.Dispatch(twin.Twin{Name: "rbd-ceph", Image: cephTwin, Needs: rbd.NeedsCeph}, os.Args, os.Environ())
	}
	ocf.Run(rbd.New(cephOpen))
}
