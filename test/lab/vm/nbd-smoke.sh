#!/bin/sh
# nbd-smoke.sh: runs inside the kernel VM (test/lab/vm.sh run). Maps an existing RBD image with
# rbd-nbd (librbd in user space, the nbd kernel module), checks the size, writes a block and
# reads it back (O_DIRECT), unmaps. Prints PASS or FAIL; exit 0 / 1. POSIX sh.
#
# Environment: CEPH_CONF, CEPH_KEYRING, CEPH_USER (default admin), RBD_POOL (default
# $CEPH_POOL, else rbd), RBD_IMAGE, RBD_SIZE_MB (the image's size; when unset only a non-zero
# size is required).
set -u
CEPH_USER=${CEPH_USER:-admin}
RBD_POOL=${RBD_POOL:-${CEPH_POOL:-rbd}}
dev=''

log() { echo "nbd-smoke: $*"; }
fail() {
    log "FAIL: $*"
    dmesg | grep -E 'nbd|block' | tail -n 5 | sed 's/^/  dmesg: /'
    [ -z "$dev" ] || rbd-nbd unmap "$dev" 2>/dev/null
    exit 1
}

[ -r "${CEPH_CONF:-}" ] || fail "CEPH_CONF unreadable: ${CEPH_CONF:-unset}"
[ -r "${CEPH_KEYRING:-}" ] || fail "CEPH_KEYRING unreadable: ${CEPH_KEYRING:-unset}"
[ -n "${RBD_IMAGE:-}" ] || fail "RBD_IMAGE must be set"

modprobe nbd || fail "modprobe nbd"
log "rbd-nbd map $RBD_POOL/$RBD_IMAGE as client.$CEPH_USER"
dev=$(timeout 120 rbd-nbd --conf "$CEPH_CONF" --keyring "$CEPH_KEYRING" --id "$CEPH_USER" \
    map "$RBD_POOL/$RBD_IMAGE") || fail "rbd-nbd map"
[ -b "$dev" ] || fail "rbd-nbd printed '$dev', not a block device"
log "mapped: $dev"
rbd-nbd list-mapped 2>/dev/null | sed 's/^/  /'

have=$(blockdev --getsize64 "$dev")
if [ -n "${RBD_SIZE_MB:-}" ]; then
    [ "$have" = $((RBD_SIZE_MB * 1024 * 1024)) ] || fail "size $have, want $((RBD_SIZE_MB * 1024 * 1024))"
else
    [ "$have" -gt 0 ] || fail "size 0"
fi
log "size $have bytes: ok"

pat=$(mktemp) back=$(mktemp)
head -c 4096 /dev/urandom >"$pat"
dd if="$pat" of="$dev" bs=4096 seek=9 count=1 oflag=direct conv=fsync status=none || fail "write"
dd if="$dev" of="$back" bs=4096 skip=9 count=1 iflag=direct status=none || fail "read"
cmp -s "$pat" "$back" || fail "read back differs from what was written"
rm -f "$pat" "$back"
log "write + read of block 9: ok"

timeout 60 rbd-nbd unmap "$dev" || fail "rbd-nbd unmap $dev"
dev=''
log "unmapped: ok"
log PASS
