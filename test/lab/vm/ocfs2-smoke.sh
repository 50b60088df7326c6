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

PAIR_TAG=ocfs2-smoke PAIR_DMESG='ocfs2|o2net|o2hb|o2dlm|o2cb'
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
# The peer may boot seconds later than this VM: wait up to a minute for its link.
tries=0
until ping -c 1 -W 1 "$VM_PEER_IP" >/dev/null 2>&1 || busybox ping -c 1 -W 1 "$VM_PEER_IP" >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 60 ] || fail "peer $VM_PEER_IP unreachable on the pair link"
done

/etc/init.d/o2cb online lab >/tmp/o2cb.log 2>&1 || { cat /tmp/o2cb.log; fail "o2cb online"; }
[ "$(cat "/sys/kernel/config/cluster/lab/node/$me/local" 2>/dev/null)" = 1 ] || fail "o2cb: $me is not the local node"
log "o2cb online (nodes: $(cd /sys/kernel/config/cluster/lab/node && echo *))"

if [ "$me" = node1 ]; then
    mkfs.ocfs2 -q -F -b 4K -C 4K -N 2 -L labshared --cluster-stack=o2cb --cluster-name=lab "$dev" ||
        fail "mkfs.ocfs2"
    log "mkfs.ocfs2 done"
    raise mkfs
else
    wait_for node1.mkfs 300
fi

mount -t ocfs2 "$dev" "$mnt" || fail "mount"
log "mounted"
raise mounted
echo "written by $me" >"$mnt/$me.txt" || fail "write $mnt/$me.txt"
sync
raise wrote
wait_for "$peer.wrote" 300
got=$(cat "$mnt/$peer.txt" 2>/dev/null)
[ "$got" = "written by $peer" ] || fail "$mnt/$peer.txt holds '$got'"
log "sees $peer's file: ok"

for k in $(seq 1 20); do echo "$me $k" >>"$mnt/both.log"; done
raise appended
wait_for "$peer.appended" 300
lines=$(wc -l <"$mnt/both.log")
[ "$lines" = 40 ] || fail "both.log has $lines lines, want 40"
log "both.log: 40 lines from both nodes: ok"

raise checked
wait_for "$peer.checked" 300 # the peer still reads until here
umount "$mnt" || fail "umount"
log "unmounted"
raise unmounted
wait_for "$peer.unmounted" 300 # leave the cluster only when both are out
/etc/init.d/o2cb offline lab >/tmp/o2cb.log 2>&1 || { cat /tmp/o2cb.log; fail "o2cb offline"; }
log PASS
