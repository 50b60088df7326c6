#!/bin/sh
# ocfs2-smoke.sh: runs in both VMs of `test/lab/vm.sh pair`. A two-node o2cb cluster "lab" over
# the pair link (eth1), OCFS2 on the shared disk: o2cb online on both, mkfs.ocfs2 on node1, both
# mount, each writes a file and reads the other's, both append to one file (cluster locking),
# both unmount and take o2cb offline. Prints PASS or FAIL; exit 0 / 1. POSIX sh.
#
# Environment (set by vm.sh pair): VM_NAME, VM_PEER, VM_IP, VM_PEER_IP, VM_XCHG (a folder both
# VMs see, used for the hand-shakes only; data goes through OCFS2). OCFS2_DEV (default: the
# first extra disk).
set -u
me=$VM_NAME peer=$VM_PEER
dev=${OCFS2_DEV:-/dev/disk/by-id/virtio-disk1}
mnt=/srv/ocfs2
flags=$VM_XCHG/ocfs2
mkdir -p "$flags"

VM_TAG=ocfs2-smoke VM_DMESG='ocfs2|o2net|o2hb|o2dlm|o2cb'
. "$(dirname "$0")/pair-lib.sh"

# cluster.conf and o2cb defaults, identical on both nodes; numbers follow the names (node1 = 1)
mkdir -p /etc/ocfs2 "$mnt"
{
    printf 'cluster:\n\tnode_count = 2\n\tname = lab\n\theartbeat_mode = local\n\n'
    for n in 1 2; do
        printf 'node:\n\tip_port = 7777\n\tip_address = 192.168.77.%s\n\tnumber = %s\n\tname = node%s\n\tcluster = lab\n\n' $n $n $n
    done
} >/etc/ocfs2/cluster.conf
cat >/etc/default/o2cb <<'EOF'
O2CB_ENABLED=true
O2CB_STACK=o2cb
O2CB_BOOTCLUSTER=lab
O2CB_HEARTBEAT_THRESHOLD=31
O2CB_IDLE_TIMEOUT_MS=30000
O2CB_KEEPALIVE_DELAY_MS=2000
O2CB_RECONNECT_DELAY_MS=2000
EOF

log "$me ($VM_IP), peer $peer ($VM_PEER_IP), disk $dev"
[ -b "$dev" ] || fail "no shared disk $dev"
wait_peer_link

/etc/init.d/o2cb online lab >/tmp/o2cb.log 2>&1 || { cat /tmp/o2cb.log; fail "o2cb online"; }
[ "$(cat "/sys/kernel/config/cluster/lab/node/$me/local" 2>/dev/null)" = 1 ] || fail "o2cb: $me is not the local node"
log "o2cb online (nodes: $(cd /sys/kernel/config/cluster/lab/node && echo *))"

ocfs2_mkfs labshared
mount -t ocfs2 "$dev" "$mnt" || fail "mount"
log "mounted"
raise mounted
ocfs2_exchange
ocfs2_append
ocfs2_unmount
/etc/init.d/o2cb offline lab >/tmp/o2cb.log 2>&1 || { cat /tmp/o2cb.log; fail "o2cb offline"; }
log PASS
