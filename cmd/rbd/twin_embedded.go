//go:build kvmha_embed && !kvmha_ceph

package main

import _ "embed"

// cephTwin is this command built with -tags kvmha_ceph; make build puts it
// here (git ignores it) before building this layer.
//
//go:embed rbd-ceph
var cephTwin []byte
