#!/bin/bash
# rbd.sh: the monitor of ocf:kvmha:rbd against Ceph's ocf:ceph:rbd (ceph-resource-agents, in
# the kernel VM's image) on the same mapped image, in the lab's kernel VM: median wall and CPU
# time of RUNS (21) monitors each, and the ratio (target: 20 times less). Needs the lab's Ceph
# ($LAB_STATE/env from make lab-up, or test/lab/ceph.sh up alone).
#
# ocf:kvmha:rbd is measured twice: built pure Go (CGO_ENABLED=0: it links no C library), and
# as `make build` builds it today (cgo on, so the net package links libc dynamically: the
# difference is the cost of the dynamic loader and cgo's start-up under TCG).
set -euo pipefail
. "$(dirname "$0")/../lab/lib.sh"
C=bench-rbd
RUNS=${RUNS:-21}

if [ -r "$LAB_STATE/env" ]; then
    # shellcheck source=/dev/null # the lab's env file, written by lab-up
    . "$LAB_STATE/env"
else
    eval "$("$LAB_DIR/ceph.sh" env)" || lab_die $C "no lab Ceph: run make lab-up or test/lab/ceph.sh up"
fi
if [ -z "${LAB_VM_CEPH_PORTS+set}" ]; then
    ports=$(lab_ceph_ports "$CEPH_CONF")
    [ -z "$ports" ] || export LAB_VM_CEPH_PORTS=$ports
fi

W=$(mktemp -d "$LAB_STATE/bench-rbd.XXXXXX") # under $LAB_STATE: the VM sees it at this path
IMG=bench-rbd-$$
R=(rbd -c "$CEPH_CONF" -k "$CEPH_ADMIN_KEYRING" --id admin)
cleanup() {
    "${R[@]}" rm "$CEPH_POOL/$IMG" >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT

cd "$LAB_ROOT"
export GOFLAGS=-mod=mod
make -s twin-rbd BUILD="$W" >&2 || lab_die $C "make twin-rbd failed"
"${R[@]}" create --size 64M --image-feature layering,exclusive-lock "$CEPH_POOL/$IMG" || lab_die $C "rbd create failed"

lab_log $C "$RUNS monitors of each agent in the kernel VM"
"$LAB_DIR/vm.sh" run -- env RBD_AGENT="$W/rbd" CEPH_CONF="$CEPH_CONF" \
    CEPH_KEYRING="$CEPH_KEYRING" CEPH_USER="$CEPH_USER" CEPH_POOL="$CEPH_POOL" IMG="$IMG" RUNS="$RUNS" \
    bash "$LAB_DIR/vm/rbd-bench.sh"
