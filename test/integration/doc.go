// Package integration holds the lab tests: they run against the real Ceph, libvirtd,
// Pacemaker clusters and kernel VM that test/lab starts (make lab-test). They are built
// only with the "lab" build tag, so a plain `go test ./...` stays fast and needs no lab.
package integration
