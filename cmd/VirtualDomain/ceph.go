//go:build kvmha_ceph

package main

import "github.com/kvmha/kvmha/agents/virtualdomain/cephcheck"

// cephOpen: this build checks RBD images itself.
var cephOpen = cephcheck.Open
