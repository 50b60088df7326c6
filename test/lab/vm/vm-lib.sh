# shellcheck shell=sh
# vm-lib.sh: what the scripts that run inside the kernel VM share, sourced by them (POSIX sh:
# the VM's /bin/sh is dash). Before sourcing, set VM_TAG (what log lines start with) and,
# when wanted, VM_DMESG (grep -E pattern, any case, of the kernel lines a failure shows) and
# VM_UPTIME=1 (log lines carry the VM's uptime: the pair scripts time steps across two VMs).
# A script that must undo something when it fails (unmap a device) defines on_fail after
# sourcing.

now() { read -r up _ </proc/uptime && echo "$up"; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.2f", a - b }'; }
log() {
    if [ "${VM_UPTIME:-}" = 1 ]; then echo "$VM_TAG: $(now)s $*"; else echo "$VM_TAG: $*"; fi
}
on_fail() { :; }
# fail WHY: say FAIL and why, show the kernel's recent lines on the subject, undo, exit 1.
fail() {
    log "FAIL: $*"
    [ -z "${VM_DMESG:-}" ] || dmesg | grep -iE "$VM_DMESG" | tail -n 15 | sed 's/^/  dmesg: /'
    on_fail
    exit 1
}

# rbd_image_env: the environment of a script that maps an image: CEPH_CONF and CEPH_KEYRING
# readable, RBD_IMAGE set; CEPH_USER (admin) and RBD_POOL ($CEPH_POOL, else rbd) defaulted.
rbd_image_env() {
    CEPH_USER=${CEPH_USER:-admin}
    RBD_POOL=${RBD_POOL:-${CEPH_POOL:-rbd}}
    [ -r "${CEPH_CONF:-}" ] || fail "CEPH_CONF unreadable: ${CEPH_CONF:-unset}"
    [ -r "${CEPH_KEYRING:-}" ] || fail "CEPH_KEYRING unreadable: ${CEPH_KEYRING:-unset}"
    [ -n "${RBD_IMAGE:-}" ] || fail "RBD_IMAGE must be set"
}

# expect_size BYTES: a mapped image's size is RBD_SIZE_MB MiB when that is set, else not 0.
expect_size() {
    if [ -n "${RBD_SIZE_MB:-}" ]; then
        [ "$1" = $((RBD_SIZE_MB * 1024 * 1024)) ] || fail "size $1, want $((RBD_SIZE_MB * 1024 * 1024))"
    else
        [ "$1" -gt 0 ] || fail "size 0"
    fi
    log "size $1 bytes: ok"
}

# write_read DEV BLOCK: write a random 4 KiB block at BLOCK through DEV and read it back,
# both O_DIRECT with the page cache dropped between (the data comes from the device). On a
# failure, prints which step failed and returns 1.
write_read() {
    wr_pat=$(mktemp) wr_back=$(mktemp) wr_err=''
    head -c 4096 /dev/urandom >"$wr_pat"
    if ! dd if="$wr_pat" of="$1" bs=4096 seek="$2" count=1 oflag=direct conv=fsync status=none; then
        wr_err='write'
    else
        echo 3 >/proc/sys/vm/drop_caches
        if ! dd if="$1" of="$wr_back" bs=4096 skip="$2" count=1 iflag=direct status=none; then
            wr_err='read'
        elif ! cmp -s "$wr_pat" "$wr_back"; then
            wr_err="read back differs from what was written"
        fi
    fi
    rm -f "$wr_pat" "$wr_back"
    [ -z "$wr_err" ] || { echo "$wr_err"; return 1; }
}
