//go:build kvmha_ceph

package main

import "github.com/kvmha/kvmha/agents/virtualdomain/cephlinked"

// cephOpen: this build checks RBD images itself.
var cephOpen = cephlinked.Open
