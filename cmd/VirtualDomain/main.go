// Command VirtualDomain is the OCF resource agent ocf:kvmha:VirtualDomain.
//
// make build produces one self-contained file in two layers (internal/twin
// says how and why): start, stop and depth-20 monitors run in the embedded
// Ceph-linked twin (virtualdomain.NeedsCeph), everything else in the
// static build.
package main

import (
	"os"

	"github.com/kvmha/kvmha/agents/virtualdomain"
	"github.com/kvmha/kvmha/internal/ocf"
	"github.com/kvmha/kvmha/internal/twin"
)

func main() {
	if cephOpen == nil {
		twin.Dispatch(twin.Twin{
			Name:     "VirtualDomain-ceph",
			Image:    cephTwin,
			Needs:    virtualdomain.NeedsCeph,
			Override: "KVMHA_VIRTUALDOMAIN_CEPH",
		}, os.Args, os.Environ())
	}
	ocf.Run(virtualdomain.New(cephOpen))
}
