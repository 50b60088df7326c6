#!/bin/sh
# krbd-smoke.sh: runs inside the kernel VM (test/lab/vm.sh run). Maps an existing RBD image with
# the kernel client through /sys/bus/rbd/add_single_major -- no Ceph user space involved, the
# secret goes in the sysfs write (a shell builtin), never on a command line -- checks the
# block device's size, writes a block and reads it back (O_DIRECT), unmaps through
# remove_single_major. Prints PASS or FAIL; exit 0 / 1. POSIX sh.
#
# Environment: CEPH_CONF (its mon_host is used), CEPH_KEYRING, CEPH_USER (default admin),
# RBD_POOL (default $CEPH_POOL, else rbd), RBD_IMAGE, RBD_SIZE_MB (the image's size; when
# unset only a non-zero size is required).
set -u
VM_TAG=krbd-smoke VM_DMESG='libceph|rbd'
. "$(dirname "$0")/vm-lib.sh"
id=''
on_fail() { [ -z "$id" ] || echo "$id" >/sys/bus/rbd/remove_single_major 2>/dev/null; }
rbd_image_env
devices() { # the ids in /sys/bus/rbd/devices, as " 0 1 "
    for d in /sys/bus/rbd/devices/*; do [ -e "$d" ] && printf ' %s' "${d##*/}"; done
    echo ' '
}

# mon_host = [v2:127.0.0.1:13300,v1:127.0.0.1:13301] | 127.0.0.1:6789,...  The kernel speaks
# msgr1 by default; with only a v2 address, ask for msgr2 (ms_mode=prefer-crc).
mon_host=$(sed -n 's/^[[:space:]]*mon[_ ]host[[:space:]]*=[[:space:]]*//p' "$CEPH_CONF" | head -n 1)
opts=''
mon=$(echo "$mon_host" | grep -o 'v1:[0-9.]*:[0-9]*' | head -n 1)
if [ -n "$mon" ]; then
    mon=${mon#v1:}
else
    mon=$(echo "$mon_host" | grep -o 'v2:[0-9.]*:[0-9]*' | head -n 1)
    if [ -n "$mon" ]; then
        mon=${mon#v2:} opts=,ms_mode=prefer-crc
    else
        mon=${mon_host%%,*}
    fi
fi
[ -n "$mon" ] || fail "no mon_host in $CEPH_CONF"

key=$(awk -v sect="[client.$CEPH_USER]" '
    $0 == sect { in_sect = 1; next }
    /^\[/ { in_sect = 0 }
    in_sect && $1 == "key" { print $3; exit }' "$CEPH_KEYRING")
[ -n "$key" ] || fail "no key for client.$CEPH_USER in $CEPH_KEYRING"

modprobe rbd || fail "modprobe rbd"
before=$(devices)
log "map $RBD_POOL/$RBD_IMAGE via $mon as client.$CEPH_USER"
printf '%s name=%s,secret=%s%s %s %s\n' "$mon" "$CEPH_USER" "$key" "$opts" "$RBD_POOL" "$RBD_IMAGE" \
    >/sys/bus/rbd/add_single_major || fail "write to /sys/bus/rbd/add_single_major"
unset key
for d in $(devices); do
    case $before in *" $d "*) ;; *) id=$d ;; esac
done
[ -n "$id" ] || fail "no new device in /sys/bus/rbd/devices"
dev=/dev/rbd$id
[ -b "$dev" ] || fail "$dev is not a block device"
sys=/sys/bus/rbd/devices/$id
log "mapped: $dev (pool $(cat "$sys/pool"), image $(cat "$sys/name"), features $(cat "$sys/features"))"

expect_size $(($(cat "/sys/block/rbd$id/size") * 512))
why=$(write_read "$dev" 7) || fail "$why"
log "write + read of block 7: ok"

echo "$id" >/sys/bus/rbd/remove_single_major || fail "write to /sys/bus/rbd/remove_single_major"
[ ! -e "$sys" ] || fail "device $id still there after remove"
id=''
log "unmapped: ok"
log PASS
