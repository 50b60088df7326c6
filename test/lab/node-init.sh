#!/bin/bash
# node-init.sh I NODES_STATE: pid 1 of lab node I (started by nodes.sh inside netns kvmha-n<I>
# and a fresh pid+mount+uts namespace). Never run it by hand.
#
# Gives the node hostname node<I>, private tmpfs /run and /dev/shm (libqb IPC lives in
# abstract sockets, which are per netns, and in /dev/shm), per-node binds of
# $NODES_STATE/node<I>/root/* over the directories below, an /etc/hosts with every node, then
# starts corosync and pacemakerd, and libvirtd when the node's config says LIBVIRT=1.
# SIGTERM = clean shutdown (libvirtd, pacemakerd, corosync). SIGKILL from outside = power off:
# the kernel kills every process of the pid namespace and the mounts vanish with it.
set -euo pipefail
i=$1 NS=$2
ND=$NS/node$i R=$NS/node$i/root
# shellcheck source=/dev/null # written by nodes.sh for each node
. "$ND/node.env" # LIBVIRT=0|1 FAKETIME=0|1
echo "node$i: boot at $(date '+%F %T.%N')"
if [ "${FAKETIME:-0}" = 1 ]; then
    # Every daemon below sees its wall clock offset by $ND/faketime (a clock step on this node
    # alone); monotonic clocks stay true. Static Go binaries (kvmha's) are not affected.
    [ -s "$ND/faketime" ] || echo "+0" >"$ND/faketime"
    export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 FAKETIME_TIMESTAMP_FILE=$ND/faketime \
        FAKETIME_CACHE_DURATION=1 DONT_FAKE_MONOTONIC=1
fi

hostname "node$i"
mount --make-rprivate /
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/lock /run/crm /run/resource-agents /run/libvirt
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
while read -r dir src; do
    mount --bind "$R/$src" "$dir"
done <<EOF
/var/lib/pacemaker  var-lib-pacemaker
/var/lib/corosync   var-lib-corosync
/var/log/pacemaker  var-log-pacemaker
/etc/corosync       etc-corosync
/etc/libvirt        etc-libvirt
/var/lib/libvirt    var-lib-libvirt
/run/libvirt        run-libvirt
/var/log/libvirt    var-log-libvirt
/var/cache/libvirt  var-cache-libvirt
EOF
mount --bind "$NS/hosts" /etc/hosts
# libvirtd's qemu driver resolves the user libvirt-qemu before it reads qemu.conf; when the
# host has no such user (no libvirt-daemon-system), nodes.sh made passwd/group copies with it.
if [ -e "$NS/passwd" ]; then
    mount --bind "$NS/passwd" /etc/passwd
    mount --bind "$NS/group" /etc/group
fi

corosync -f &
coro=$!
for ((n = 0; n < 100; n++)); do
    corosync-cfgtool -s >/dev/null 2>&1 && break
    sleep 0.1
done
PCMK_logfile=/var/log/pacemaker/pacemaker.log PCMK_logfacility=none pacemakerd </dev/null &
pcmk=$!
if [ "$LIBVIRT" = 1 ]; then
    libvirtd --daemon --listen --pid-file /run/libvirt/libvirtd.pid || echo "node$i: libvirtd failed to start"
fi

stop() {
    trap '' TERM INT
    echo "node$i: clean shutdown at $(date '+%F %T.%N')"
    local lv
    if [ -s /run/libvirt/libvirtd.pid ] && read -r lv </run/libvirt/libvirtd.pid && kill -TERM "$lv" 2>/dev/null; then
        for ((n = 0; n < 100; n++)); do kill -0 "$lv" 2>/dev/null || break; sleep 0.1; done
    fi
    if kill -TERM "$pcmk" 2>/dev/null; then wait "$pcmk"; fi
    if kill -TERM "$coro" 2>/dev/null; then wait "$coro"; fi
    echo "node$i: down at $(date '+%F %T.%N')"
    exit 0
}
trap stop TERM INT
set +e
# As pid 1 this shell also reaps every orphan of the node (libvirtd's and qemu's forks).
while kill -0 "$coro" 2>/dev/null; do wait -n || sleep 1; done
echo "node$i: corosync exited, node halts"
