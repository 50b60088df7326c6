package rbd

import (
	"net/netip"

	"github.com/kvmha/kvmha/agents/rbd/rbdceph"
)

func mustAP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func rbdcephAccess() rbdceph.Access { return rbdceph.Access{User: "kvmha"} }
