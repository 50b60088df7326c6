# shellcheck shell=sh
# pair-lib.sh: the hand-shakes of the lab's scripts for `vm.sh pair` (o2cb-pair.sh,
# ocfs2-smoke.sh) and the OCFS2 steps both take, sourced by them. POSIX sh. Before sourcing,
# set: me and peer (VM_NAME, VM_PEER), flags (their folder in $VM_XCHG, created), dev and mnt
# (the shared disk and where it is mounted), VM_TAG and VM_DMESG (see vm-lib.sh).
# shellcheck disable=SC2154 # me, peer, flags, dev and mnt are the sourcing script's
VM_UPTIME=1
. "$(dirname "$0")/vm-lib.sh"

# A failure is the peer's news too: it stops waiting for this VM.
on_fail() { touch "$flags/$me.failed"; }
# wait_for FLAG SECONDS: until FLAG exists; gives up when the peer failed or its VM ended
wait_for() {
    i=0
    while [ $i -lt $(($2 * 5)) ]; do
        i=$((i + 1))
        [ -e "$flags/$1" ] && return 0
        [ -e "$flags/$peer.failed" ] && fail "$peer failed"
        peer_ended
        sleep 0.2
    done
    fail "timed out waiting for $1"
}
peer_ended() {
    [ ! -e "$VM_XCHG/$peer.exit" ] || fail "$peer's VM ended (exit $(cat "$VM_XCHG/$peer.exit"))"
}
# raise NAME: tell the peer this VM reached NAME
raise() { touch "$flags/$me.$1"; }

# wait_peer_link: the peer answers on the pair link; it may boot a minute later on a busy
# host.
wait_peer_link() {
    i=0
    until ping -c 1 -W 1 "$VM_PEER_IP" >/dev/null 2>&1 || busybox ping -c 1 -W 1 "$VM_PEER_IP" >/dev/null 2>&1; do
        i=$((i + 1))
        sleep 1
        [ $i -lt 60 ] || fail "peer $VM_PEER_IP unreachable on the pair link"
        peer_ended
    done
}

# ocfs2_mkfs LABEL: node1 makes the file system on the shared disk; node2 waits for it.
ocfs2_mkfs() {
    if [ "$me" = node1 ]; then
        mkfs.ocfs2 -q -F -b 4K -C 4K -N 2 -L "$1" --cluster-stack=o2cb --cluster-name=lab "$dev" ||
            fail "mkfs.ocfs2"
        log "mkfs.ocfs2 done"
        raise mkfs
    else
        wait_for node1.mkfs 300
    fi
}
# ocfs2_exchange: each node writes a file on the mounted volume and reads the other's.
ocfs2_exchange() {
    echo "written by $me" >"$mnt/$me.txt" || fail "write $mnt/$me.txt"
    sync
    raise wrote
    wait_for "$peer.wrote" 300
    got=$(cat "$mnt/$peer.txt" 2>/dev/null)
    [ "$got" = "written by $peer" ] || fail "$mnt/$peer.txt holds '$got'"
    log "sees $peer's file: ok"
}
# ocfs2_append: both append 20 lines to one file at once (the cluster's locking keeps all 40).
ocfs2_append() {
    for k in $(seq 1 20); do echo "$me $k" >>"$mnt/both.log"; done
    raise appended
    wait_for "$peer.appended" 300
    lines=$(wc -l <"$mnt/both.log")
    [ "$lines" = 40 ] || fail "both.log has $lines lines, want 40"
    log "both.log: 40 lines from both nodes: ok"
}
# ocfs2_unmount: unmount once the peer is done reading; return once both are out, when
# the cluster may be left.
ocfs2_unmount() {
    raise checked
    wait_for "$peer.checked" 300
    umount "$mnt" || fail "umount"
    log "unmounted"
    raise unmounted
    wait_for "$peer.unmounted" 300
}
