#!/bin/sh
# doctor-kernel.sh: runs inside the kernel VM (test/lab/vm.sh run) and puts the kernel and o2cb
# checks of `kvmha doctor` to Debian's stock kernel. Each step runs doctor with --output json
# between the lines "=== doctor STEP" and "=== end STEP rc=N"; the host test reads them.
# POSIX sh.
#
# Steps: unloaded (nothing loaded yet: rbd, nbd, configfs, ocfs2 are installed modules; the
# features of an unloaded rbd are unknown), good (after modprobe rbd: every kernel and o2cb check
# passes on $POOL_GOOD), features (the images of $POOL_GOOD and $POOL_BAD: the journaling image in
# $POOL_BAD is named), blocked (an "install nbd /bin/false" in /run/modprobe.d: nbd fails, naming
# the line).
#
# Environment: KVMHA (the kvmha binary), CEPH_CONF, CEPH_KEYRING, CEPH_USER, POOL_GOOD, POOL_BAD
# (POOL/NAMESPACE each).
set -u
for v in KVMHA CEPH_CONF CEPH_KEYRING CEPH_USER POOL_GOOD POOL_BAD; do
    eval "[ -n \"\${$v:-}\" ]" || { echo "doctor-kernel: $v must be set"; exit 2; }
done
block=/run/modprobe.d/kvmha-doctor-test.conf

step() { # step NAME ARGS...
    name=$1
    shift
    echo "=== doctor $name"
    start=$(cut -d' ' -f1 /proc/uptime)
    # stderr apart, after the JSON: librados may warn there.
    "$KVMHA" doctor --output json --timeout 60s --ceph-conf "$CEPH_CONF" --ceph-user "$CEPH_USER" \
        --ceph-keyring "$CEPH_KEYRING" "$@" 2>/tmp/doctor.err
    rc=$?
    end=$(cut -d' ' -f1 /proc/uptime)
    echo "=== end $name rc=$rc took=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')s"
    sed 's/^/stderr: /' /tmp/doctor.err
}

step unloaded --check kernel,o2cb --pools "$POOL_GOOD"
modprobe rbd || echo "doctor-kernel: modprobe rbd failed"
step good --check kernel,o2cb --pools "$POOL_GOOD"
step features --check krbd-features --pools "$POOL_GOOD,$POOL_BAD"
mkdir -p /run/modprobe.d
echo "install nbd /bin/false" >"$block"
step blocked --check nbd
rm -f "$block"
exit 0
