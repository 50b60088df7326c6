#!/bin/bash
# rbd-bench.sh: runs inside the kernel VM (test/lab/vm.sh run) for test/bench/rbd.sh. Maps one
# image with ocf:kvmha:rbd, then times RUNS monitors of each agent on that same mapping:
# ocf:kvmha:rbd as `make build` builds it, and Ceph's ocf:ceph:rbd from the VM image. Prints one line per agent: median wall and CPU
# (user + system, children included) in ms, and each one's ratio to ocf:ceph:rbd.
#
# Environment: RBD_AGENT (make's build), CEPH_CONF, CEPH_KEYRING, CEPH_USER, CEPH_POOL, IMG, RUNS (21).
set -u
RUNS=${RUNS:-21}
ANCHOR=/usr/lib/ocf/resource.d/ceph/rbd
export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=bench OCF_RESKEY_CRM_meta_interval=10000
export OCF_RESKEY_name=$IMG OCF_RESKEY_pool=${CEPH_POOL:-rbd} OCF_RESKEY_cephconf=$CEPH_CONF
export OCF_RESKEY_user=$CEPH_USER OCF_RESKEY_secret=$CEPH_KEYRING
W=$(mktemp -d)
# The binaries run from tmpfs, as from a local disk: the 9p share is not what is measured.
cp "$RBD_AGENT" "$W/rbd"

"$W/rbd" start || { echo "rbd-bench: start failed"; exit 1; }
"$ANCHOR" monitor || { echo "rbd-bench: ocf:ceph:rbd does not see the mapping ($?)"; "$W/rbd" stop; exit 1; }

# timed FILE CMD...: run CMD, which must exit 0, and append "wall cpu" in ms to FILE.
TIMEFORMAT='%R %U %S'
timed() {
    local file=$1 t rc
    shift
    t=$({ time "$@" >/dev/null 2>&1; } 2>&1)
    rc=$?
    [ $rc = 0 ] || { echo "rbd-bench: $* exited $rc"; return 1; }
    echo "$t" | awk '{printf "%.1f %.1f\n", $1*1000, ($2+$3)*1000}' >>"$file"
}
# median FILE COLUMN
median() { awk -v c="$2" '{print $c}' "$1" | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

# Each agent's runs in a block, after two unmeasured ones: under TCG, code runs after qemu
# translated it, and its translation cache (32 MiB) does not hold the Ceph libraries and an
# agent at once, so interleaved runs would charge every agent a retranslation no real CPU
# pays.
rc=0
for a in kvmha:rbd anchor:anchor; do
    file=${a%%:*} bin=${a#*:}
    [ "$bin" = anchor ] && bin=$ANCHOR || bin=$W/$bin
    for ((i = 0; i < RUNS + 2; i++)); do
        out=$W/$file
        [ $i -lt 2 ] && out=$W/warmup
        timed "$out" "$bin" monitor || rc=1
    done
done
"$W/rbd" stop || rc=1

aw=$(median "$W/anchor" 1) ac=$(median "$W/anchor" 2)
echo "rbd-bench: monitor of one mapped image (krbd), median of $RUNS runs, kernel $(uname -r), TCG"
for a in anchor kvmha; do
    w=$(median "$W/$a" 1) c=$(median "$W/$a" 2)
    case $a in
    anchor) label="ocf:ceph:rbd" ;;
    kvmha) label="ocf:kvmha:rbd" ;;
    esac
    awk -v l="$label" -v w="$w" -v c="$c" -v aw="$aw" -v ac="$ac" 'BEGIN {
        printf "%-32s wall %7.1f ms  cpu %7.1f ms  ratio wall %5.1fx  cpu %5.1fx\n", l, w, c, aw/w, (c > 0 ? ac/c : 0) }'
done
rm -rf "$W"
exit $rc
