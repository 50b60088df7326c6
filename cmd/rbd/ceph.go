//go:build kvmha_ceph

package main

import "github.com/kvmha/kvmha/agents/rbd/cephlinked"

// cephOpen: this build asks the cluster itself.
var cephOpen = cephlinked.Open
