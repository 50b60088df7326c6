#!/bin/sh
# o2cb-pair.sh: runs in both VMs of `test/lab/vm.sh pair`, driving ocf:kvmha:o2cb (the binary in
# $O2CB_AGENT, built on the host) the way Pacemaker would: a corosync.conf names both nodes, the agent
# registers O2CB from it (nodes_from=corosync) and writes /etc/ocfs2/cluster.conf for ocfs2-tools.
# POSIX sh. Prints PASS or FAIL; exit 0 / 1.
#
# O2CB_SCENARIO=basic (default): start on both (timed), monitor, `o2cb list-cluster` reads the file
#   the agent wrote, mkfs.ocfs2 on node1, mount on both, each reads the other's file, 40 appends from
#   both to one file; while mounted: stop is refused (exit 1, reason), a third node added to
#   corosync.conf is reported by monitor (190) with sync_nodes=false and registered by a recurring
#   monitor; then both unmount, stop (twice: idempotent), monitor says 7.
# O2CB_SCENARIO=kill: both mount; O2CB_VICTIM (default node2) dies at once (sysrq b: no sync, no
#   unmount, no goodbye on the network - as a power cut); the survivor keeps touching the volume and
#   reports how long its file operations blocked and what its kernel logged, then unmounts and stops
#   O2CB alone. (In a two-node O2CB cluster the lower node number wins a split; a dead peer is no
#   split, so either node survives the other's death.)
#
# Environment (set by vm.sh pair): VM_NAME, VM_PEER, VM_IP, VM_PEER_IP, VM_XCHG. O2CB_AGENT (path of
# the agent binary); O2CB_PARAMS (more KEY=VALUE agent parameters, e.g. heartbeat_dead_threshold=7);
# OCFS2_DEV (default: the first extra disk).
set -u
me=$VM_NAME peer=$VM_PEER
agent_bin=${O2CB_AGENT:?O2CB_AGENT: path of the o2cb agent binary}
scenario=${O2CB_SCENARIO:-basic}
dev=${OCFS2_DEV:-/dev/disk/by-id/virtio-disk1}
mnt=/srv/ocfs2
flags=$VM_XCHG/o2cb
mkdir -p "$flags" "$mnt"

VM_TAG=o2cb-pair VM_DMESG='ocfs2|o2net|o2hb|o2dlm|o2cb|dlm'
. "$(dirname "$0")/pair-lib.sh"

# agent ACTION [KEY=VALUE...]: one invocation as Pacemaker's executor makes it; sets rc and reason
agent() {
    action=$1
    shift
    for p in ${O2CB_PARAMS:-}; do set -- "OCF_RESKEY_$p" "$@"; done # each word one parameter
    set -- OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=o2cb:0 OCF_RESOURCE_TYPE=o2cb \
        OCF_RESKEY_CRM_meta_on_node="$me" OCF_RESKEY_CRM_meta_timeout=120000 \
        OCF_RESKEY_cluster=lab OCF_RESKEY_nodes_from=corosync OCF_RESKEY_manage_cluster_conf=true "$@"
    env "$@" "$agent_bin" "$action" >/tmp/agent.out 2>&1
    rc=$?
    reason=$(sed -n 's/^ocf-exit-reason://p' /tmp/agent.out | tail -n 1)
    [ "$action" = meta-data ] || sed 's/^/  agent: /' /tmp/agent.out
}
expect_rc() { # expect_rc WANT WHAT
    [ "$rc" = "$1" ] || fail "$2: exit $rc, want $1 ($reason)"
}

corosync_conf() { # corosync_conf N: the lab's nodelist with nodes 1..N on the pair link
    mkdir -p /etc/corosync
    {
        printf 'totem {\n    version: 2\n    cluster_name: lab\n    transport: knet\n}\nnodelist {\n'
        for n in $(seq 1 "$1"); do
            printf '    node {\n        ring0_addr: 192.168.77.%s\n        name: node%s\n        nodeid: %s\n    }\n' "$n" "$n" "$n"
        done
        printf '}\nquorum {\n    provider: corosync_votequorum\n}\n'
    } >/etc/corosync/corosync.conf
}

log "$me ($VM_IP), peer $peer ($VM_PEER_IP), disk $dev, scenario $scenario"
[ -b "$dev" ] || fail "no shared disk $dev"
[ -x "$agent_bin" ] || fail "no agent binary at $agent_bin"
wait_peer_link
corosync_conf 2

t0=$(now)
agent meta-data
log "TIMING meta-data $(since "$t0")s" # the cost of starting the binary at all, under TCG
agent monitor OCF_RESKEY_CRM_meta_interval=0
expect_rc 7 "probe before start"
t0=$(now)
agent start
expect_rc 0 start
log "TIMING start $(since "$t0")s"
[ "$(cat /sys/kernel/config/cluster/lab/node/"$me"/local)" = 1 ] || fail "$me is not the local node in configfs"
t0=$(now)
agent monitor OCF_RESKEY_CRM_meta_interval=10000
expect_rc 0 "monitor after start"
log "TIMING monitor $(since "$t0")s"
o2cb list-cluster lab >/tmp/list 2>&1 || { cat /tmp/list; fail "o2cb cannot read the cluster.conf the agent wrote"; }
grep -q 'name = node2' /tmp/list || fail "o2cb list-cluster lacks node2: $(cat /tmp/list)"
log "o2cb online (nodes: $(cd /sys/kernel/config/cluster/lab/node && echo *)); ocfs2-tools read the written cluster.conf"
raise started
wait_for "$peer.started" 300

ocfs2_mkfs o2cbtest
t0=$(now)
mount -t ocfs2 "$dev" "$mnt" || fail "mount"
log "TIMING mount $(since "$t0")s"
ocfs2_exchange

if [ "$scenario" = kill ]; then
    victim=${O2CB_VICTIM:-node2}
    raise ready
    wait_for "$peer.ready" 300
    if [ "$me" = "$victim" ]; then
        cat "$mnt/$peer.txt" >/dev/null
        raise dying
        log "dying now (sysrq b)"
        sleep 0.3 # let the line reach the host
        echo 1 >/proc/sys/kernel/sysrq
        echo b >/proc/sysrq-trigger
        sleep 60
        fail "still alive after sysrq b"
    fi
    # the survivor: how long do file operations block?
    wait_for "$victim.dying" 60
    tk=$(now)
    log "peer killed at ${tk}s (uptime of $me)"
    # Each round creates a file (new lock resources: their mastery asks every node, the dead one
    # too), appends, lists the folder and reads the victim's file (a lock the victim held).
    worst=0 worst_end=$tk evicted='' i=0
    after() { awk -v a="$1" -v b="$tk" 'BEGIN { printf "%.1f", a - b }'; }
    while :; do
        i=$((i + 1))
        t1=$(now)
        { echo "$i $t1" >"$mnt/$me.$i" && echo "$i" >>"$mnt/$me.log" && ls -l "$mnt" >/dev/null &&
            cat "$mnt/$victim.txt" >/dev/null; } || fail "file operations failed on the survivor"
        took=$(since "$t1")
        if awk -v t="$took" -v w="$worst" 'BEGIN { exit !(t > w) }'; then
            worst=$took worst_end=$(now)
        fi
        awk -v t="$took" 'BEGIN { exit !(t > 1) }' &&
            log "round $i blocked ${took}s (from +$(after "$t1")s after the kill)"
        [ -n "$evicted" ] ||
            evicted=$(dmesg | awk '/has evicted node/ { s = $0; sub(/^\[ */, "", s); sub(/\].*/, "", s); print s; exit }')
        # done once the peer is evicted and rounds have been quick for 5 s since
        [ -n "$evicted" ] && awk -v n="$(now)" -v e="$evicted" -v w="$worst_end" \
            'BEGIN { m = e > w ? e : w; exit !(n - m > 5) }' && break
        awk -v a="$(now)" -v b="$tk" 'BEGIN { exit !(a - b > 400) }' && fail "peer not evicted 400 s after the kill"
        sleep 0.5
    done
    log "KILLTIMING peer evicted +$(after "$evicted")s after the kill; longest round ${worst}s, ending +$(after "$worst_end")s; $i rounds"
    log "survivor's kernel log since the kill:"
    dmesg | awk -v t="$tk" '{ s = $0; sub(/^\[ */, "", s); sub(/\].*/, "", s); if (s + 0 >= t - 1) print }' |
        grep -iE 'ocfs2|o2net|o2hb|o2dlm|dlm|o2cb|o2quo' | sed 's/^/  dmesg: /'
    umount "$mnt" || fail "umount on the survivor"
    agent stop
    expect_rc 0 "stop on the survivor"
    log PASS
    exit 0
fi

ocfs2_append

agent stop
expect_rc 1 "stop while mounted"
case $reason in *"refusing to stop O2CB"*) ;; *) fail "stop refused without the reason: $reason" ;; esac
[ -d /sys/kernel/config/cluster/lab ] || fail "the refused stop removed the cluster"
log "stop refused while mounted: $reason"
agent monitor OCF_RESKEY_CRM_meta_interval=10000
expect_rc 0 "monitor after the refused stop"

# a node joins the cluster while the volume is mounted
corosync_conf 3
agent monitor OCF_RESKEY_CRM_meta_interval=10000 OCF_RESKEY_sync_nodes=false
expect_rc 190 "monitor with a new corosync node, sync_nodes=false"
log "new corosync node reported: $reason"
agent monitor OCF_RESKEY_CRM_meta_interval=10000
expect_rc 0 "monitor registering the new node"
[ "$(cat /sys/kernel/config/cluster/lab/node/node3/num 2>/dev/null)" = 3 ] || fail "node3 not registered"
log "node3 registered by monitor while mounted"

ocfs2_unmount # both are out: the cluster may go
t0=$(now)
agent stop
expect_rc 0 "stop after unmount"
log "TIMING stop $(since "$t0")s"
[ ! -e /sys/kernel/config/cluster/lab ] || fail "cluster still registered after stop"
grep -q ' /dlm ocfs2_dlmfs ' /proc/mounts && fail "ocfs2_dlmfs still mounted after stop"
agent stop
expect_rc 0 "second stop"
agent monitor OCF_RESKEY_CRM_meta_interval=10000
expect_rc 7 "monitor after stop"
log PASS
