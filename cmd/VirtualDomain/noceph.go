//go:build !kvmha_ceph

package main

import "github.com/kvmha/kvmha/agents/virtualdomain/rbdcheck"

// cephOpen: none in this build; the Ceph-linked twin does the Ceph work.
var cephOpen rbdcheck.OpenFunc
