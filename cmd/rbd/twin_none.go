//go:build !kvmha_embed || kvmha_ceph

package main

// cephTwin: none in this build (go build without make, or the twin itself).
var cephTwin []byte
