#!/bin/sh
# nbd-smoke.sh: runs inside the kernel VM (test/lab/vm.sh run). Maps an existing RBD image with
# rbd-nbd (librbd in user space, the nbd kernel module), checks the size, writes a block and
# reads it back (O_DIRECT), unmaps. Prints PASS or FAIL; exit 0 / 1. POSIX sh.
#
# Environment: CEPH_CONF, CEPH_KEYRING, CEPH_USER (default admin), RBD_POOL (default
# $CEPH_POOL, else rbd), RBD_IMAGE, RBD_SIZE_MB (the image's size; when unset only a non-zero
# size is required).
set -u
VM_TAG=nbd-smoke VM_DMESG='nbd|block'
. "$(dirname "$0")/vm-lib.sh"
dev=''
on_fail() { [ -z "$dev" ] || rbd-nbd unmap "$dev" 2>/dev/null; }
rbd_image_env

modprobe nbd || fail "modprobe nbd"
log "rbd-nbd map $RBD_POOL/$RBD_IMAGE as client.$CEPH_USER"
dev=$(timeout 120 rbd-nbd --conf "$CEPH_CONF" --keyring "$CEPH_KEYRING" --id "$CEPH_USER" \
    map "$RBD_POOL/$RBD_IMAGE") || fail "rbd-nbd map"
[ -b "$dev" ] || fail "rbd-nbd printed '$dev', not a block device"
log "mapped: $dev"
rbd-nbd list-mapped 2>/dev/null | sed 's/^/  /'

expect_size "$(blockdev --getsize64 "$dev")"
why=$(write_read "$dev" 9) || fail "$why"
log "write + read of block 9: ok"

timeout 60 rbd-nbd unmap "$dev" || fail "rbd-nbd unmap $dev"
dev=''
log "unmapped: ok"
log PASS
