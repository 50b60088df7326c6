package rbd

import (
	"net/netip"

	"github.com/kvmha/kvmha/agents/rbd/cephapi"
)

func mustAP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func cephAccess() cephapi.Access { return cephapi.Access{User: "kvmha"} }
