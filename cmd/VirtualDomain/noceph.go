//go:build !kvmha_ceph

package main

import "github.com/kvmha/kvmha/agents/virtualdomain/cephapi"

// cephOpen: none in this build; the Ceph-linked twin does the Ceph work.
var cephOpen cephapi.OpenFunc
