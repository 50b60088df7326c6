# pair-lib.sh: the hand-shakes of the lab's scripts for `vm.sh pair` (o2cb-pair.sh,
# ocfs2-smoke.sh), sourced by them. POSIX sh. Before sourcing, set: me and peer (VM_NAME,
# VM_PEER), flags (their folder in $VM_XCHG, created), PAIR_TAG (what log lines start with) and
# PAIR_DMESG (grep -E pattern of the kernel lines a failure shows).

now() { read -r up _ </proc/uptime && echo "$up"; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.2f", a - b }'; }
log() { echo "$PAIR_TAG: $(now)s $*"; }
fail() {
    log "FAIL: $*"
    touch "$flags/$me.failed"
    dmesg | grep -iE "$PAIR_DMESG" | tail -n 15 | sed 's/^/  dmesg: /'
    exit 1
}
# wait_for FLAG SECONDS: until FLAG exists; gives up when the peer failed or its VM ended
wait_for() {
    i=0
    while [ $i -lt $(($2 * 5)) ]; do
        i=$((i + 1))
        [ -e "$flags/$1" ] && return 0
        [ -e "$flags/$peer.failed" ] && fail "$peer failed"
        [ -e "$VM_XCHG/$peer.exit" ] && fail "$peer's VM ended (exit $(cat "$VM_XCHG/$peer.exit"))"
        sleep 0.2
    done
    fail "timed out waiting for $1"
}
# raise NAME: tell the peer this VM reached NAME
raise() { touch "$flags/$me.$1"; }
