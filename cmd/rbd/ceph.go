//go:build kvmha_ceph

package main

import "github.com/kvmha/kvmha/agents/rbd/cephsession"

// cephOpen: this build asks the cluster itself.
var cephOpen = cephsession.Open
