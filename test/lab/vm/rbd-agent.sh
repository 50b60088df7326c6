#!/bin/sh
# rbd-agent.sh: runs inside the kernel VM (test/lab/vm.sh run) and puts ocf:kvmha:rbd through
# its paces with the real kernel rbd and nbd drivers against the lab's Ceph. Each case prints
# "ok CASE" or "FAIL CASE: why"; the last line is PASS or FAIL (exit 0 / 1). POSIX sh.
#
# Cases: krbd (map, monitor, depth 10, I/O through /dev/rbd/<pool>/<image>, unmap), nbd (the
# same with rbd-nbd; no key in its argv or environment), auto-nbd (an image with journaling,
# which Debian 12's kernel lacks, goes to rbd-nbd; driver=krbd refuses it naming the fix),
# auto-krbd (after 'rbd feature disable', auto maps it with the kernel), held (an image another
# client holds is refused, naming it), in-use (stop refuses a mounted device, force_unmap
# unmaps it), snapshot (mapped read-only as /dev/rbd/<pool>/<image>@<snap>), mon-dns (mon is
# one DNS name for a dead and a live monitor), typo-stop (a stop whose parameters became
# unusable after start - name=a/b, user='a b' - still unmaps exactly the device start mapped,
# krbd and rbd-nbd, and leaves the device number alone once another image has it), ocf-tester.
#
# Environment: RBD_AGENT (the agent binary, as make build builds it), CEPH_CONF,
# CEPH_KEYRING (client.$CEPH_USER), CEPH_USER, CEPH_POOL, CEPH_ADMIN_KEYRING (for the test's
# own rbd commands), IMG_PLAIN, IMG_JOURNAL, IMG_HELD (images the host created; IMG_HELD is
# held by a client on the host while this runs), CASES (default: all, space separated).
set -u
export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=rbdtest
POOL=${CEPH_POOL:-rbd}
CASES=${CASES:-krbd nbd auto-nbd auto-krbd held in-use snapshot mon-dns typo-stop ocf-tester}
# Where the agent keeps its records of what it mapped (ocf-shellfuncs' default).
RECORD=${HA_RSCTMP:-/run/resource-agents}/kvmha-rbd-$OCF_RESOURCE_INSTANCE.record
failed=0
out=$(mktemp)

VM_TAG=rbd-agent
. "$(dirname "$0")/vm-lib.sh"
# case_fail CASE why: the case failed (the others still run).
case_fail() {
    echo "FAIL $1: $2"
    sed 's/^/    /' "$out"
    failed=1
}

# agent ACTION [PARAM=VALUE...]: run the agent with the lab's defaults; output in $out,
# exit code in $rc.
agent() {
    action=$1
    shift
    n=$#
    while [ "$n" -gt 0 ]; do # PARAM=VALUE -> OCF_RESKEY_PARAM=VALUE
        set -- "$@" "OCF_RESKEY_$1"
        shift
        n=$((n - 1))
    done
    env OCF_RESKEY_pool="$POOL" OCF_RESKEY_cephconf="$CEPH_CONF" OCF_RESKEY_user="$CEPH_USER" \
        OCF_RESKEY_secret="$CEPH_KEYRING" OCF_RESKEY_CRM_meta_interval=10000 "$@" \
        "$RBD_AGENT" "$action" >"$out" 2>&1
    rc=$?
}

# expect CASE RC [TEXT]: the last agent call exited RC and printed TEXT.
expect() {
    if [ "$rc" != "$2" ]; then
        case_fail "$1" "exit code $rc, want $2"
        return 1
    fi
    if [ -n "${3:-}" ] && ! grep -qF -- "$3" "$out"; then
        case_fail "$1" "output lacks '$3'"
        return 1
    fi
    return 0
}

# depth10 PARAM...: a monitor at OCF_CHECK_LEVEL 10.
depth10() {
    export OCF_CHECK_LEVEL=10
    agent monitor "$@"
    unset OCF_CHECK_LEVEL
}

admin_rbd() { rbd -c "$CEPH_CONF" -k "$CEPH_ADMIN_KEYRING" --id admin "$@"; }
admin_rbd_bounded() { timeout 60 rbd -c "$CEPH_CONF" -k "$CEPH_ADMIN_KEYRING" --id admin "$@"; }

# link_target SPEC: the device /dev/rbd/SPEC leads to.
link_target() { readlink -f "/dev/rbd/$1"; }

# io CASE DEV: write a block through DEV and read it back (O_DIRECT).
io() {
    why=$(write_read "$2" 3) || { case_fail "$1" "write + read through $2 failed: $why"; return 1; }
}

case_krbd() {
    c=krbd
    agent monitor name="$IMG_PLAIN"
    expect $c 7 || return
    agent start name="$IMG_PLAIN" driver=krbd
    expect $c 0 "with the kernel rbd driver" || return
    dev=$(link_target "$POOL/$IMG_PLAIN")
    case $dev in /dev/rbd[0-9]*) ;; *)
        case_fail $c "/dev/rbd/$POOL/$IMG_PLAIN leads to '$dev'"
        return
        ;;
    esac
    [ -b "$dev" ] || { case_fail $c "$dev is no block device"; return; }
    agent monitor name="$IMG_PLAIN"
    expect $c 0 || return
    depth10 name="$IMG_PLAIN"
    expect $c 0 || return
    io $c "/dev/rbd/$POOL/$IMG_PLAIN" || return
    agent start name="$IMG_PLAIN" driver=krbd
    expect $c 0 "already mapped" || return
    agent stop name="$IMG_PLAIN"
    expect $c 0 "unmapped" || return
    agent monitor name="$IMG_PLAIN"
    expect $c 7 || return
    [ ! -e "/dev/rbd/$POOL/$IMG_PLAIN" ] || { case_fail $c "link left after stop"; return; }
    agent stop name="$IMG_PLAIN"
    expect $c 0 || return
    echo "ok $c"
}

case_nbd() {
    c=nbd
    agent start name="$IMG_PLAIN" driver=nbd
    expect $c 0 "with rbd-nbd" || return
    dev=$(link_target "$POOL/$IMG_PLAIN")
    case $dev in /dev/nbd[0-9]*) ;; *)
        case_fail $c "/dev/rbd/$POOL/$IMG_PLAIN leads to '$dev'"
        return
        ;;
    esac
    pid=$(cat "/sys/block/${dev#/dev/}/pid")
    key=$(sed -n 's/^[[:space:]]*key[[:space:]]*=[[:space:]]*//p' "$CEPH_KEYRING" | head -n 1)
    for p in $(pgrep -f rbd-nbd) "$pid"; do
        if tr '\0' '\n' <"/proc/$p/cmdline" | grep -qF -- "$key" || tr '\0' '\n' <"/proc/$p/environ" | grep -qF -- "$key"; then
            case_fail $c "the key is in rbd-nbd's command line or environment"
            return
        fi
    done
    unset key
    agent monitor name="$IMG_PLAIN"
    expect $c 0 || return
    depth10 name="$IMG_PLAIN"
    expect $c 0 || return
    io $c "$dev" || return
    agent stop name="$IMG_PLAIN"
    expect $c 0 "unmapped" || return
    [ ! -d "/proc/$pid" ] || { case_fail $c "rbd-nbd $pid still runs"; return; }
    agent monitor name="$IMG_PLAIN"
    expect $c 7 || return
    echo "ok $c"
}

case_auto_nbd() {
    c=auto-nbd
    agent start name="$IMG_JOURNAL" driver=krbd
    expect $c 5 "rbd feature disable $POOL/$IMG_JOURNAL journaling" || return
    agent monitor name="$IMG_JOURNAL"
    expect $c 7 || return
    agent start name="$IMG_JOURNAL"
    expect $c 0 "using rbd-nbd" || return
    case $(link_target "$POOL/$IMG_JOURNAL") in /dev/nbd*) ;; *)
        case_fail $c "not mapped with rbd-nbd"
        return
        ;;
    esac
    agent stop name="$IMG_JOURNAL"
    expect $c 0 || return
    echo "ok $c"
}

case_auto_krbd() {
    c=auto-krbd
    admin_rbd feature disable "$POOL/$IMG_JOURNAL" journaling >"$out" 2>&1 || { case_fail $c "rbd feature disable"; return; }
    agent start name="$IMG_JOURNAL"
    expect $c 0 "with the kernel rbd driver" || return
    case $(link_target "$POOL/$IMG_JOURNAL") in /dev/rbd[0-9]*) ;; *)
        case_fail $c "not mapped with krbd"
        return
        ;;
    esac
    agent stop name="$IMG_JOURNAL"
    expect $c 0 || return
    echo "ok $c"
}

case_held() {
    c=held
    # A short start timeout: the agent waits for a holder to let go until 8 s before it.
    export OCF_RESKEY_CRM_meta_timeout=12000
    agent start name="$IMG_HELD"
    unset OCF_RESKEY_CRM_meta_timeout
    expect $c 1 "$POOL/$IMG_HELD is in use by client." || return
    grep -q "refusing to map it" "$out" || { case_fail $c "no refusal"; return; }
    agent monitor name="$IMG_HELD"
    expect $c 7 || return
    echo "ok $c"
}

case_in_use() {
    c=in-use
    agent start name="$IMG_PLAIN" driver=krbd
    expect $c 0 || return
    dev=$(link_target "$POOL/$IMG_PLAIN")
    mkfs.ext4 -q -F "$dev" >/dev/null 2>&1 || { case_fail $c "mkfs"; return; }
    mkdir -p /mnt/rbdtest
    mount "$dev" /mnt/rbdtest || { case_fail $c "mount"; return; }
    agent stop name="$IMG_PLAIN"
    expect $c 1 "is in use: mounted on /mnt/rbdtest" || { umount /mnt/rbdtest; return; }
    agent monitor name="$IMG_PLAIN"
    expect $c 0 || { umount /mnt/rbdtest; return; }
    umount /mnt/rbdtest
    exec 7<"$dev" # held open by this shell
    agent stop name="$IMG_PLAIN"
    expect $c 1 "open in" || { exec 7<&-; return; }
    agent stop name="$IMG_PLAIN" force_unmap=true
    exec 7<&-
    expect $c 0 "unmapped" || return
    echo "ok $c"
}

case_snapshot() {
    c=snapshot
    admin_rbd snap create "$POOL/$IMG_PLAIN@s1" >"$out" 2>&1 || { case_fail $c "rbd snap create"; return; }
    agent start name="$IMG_PLAIN" snap=s1
    expect $c 0 || return
    dev=$(link_target "$POOL/$IMG_PLAIN@s1")
    [ "$(blockdev --getro "$dev")" = 1 ] || { case_fail $c "$dev is writable"; return; }
    agent monitor name="$IMG_PLAIN"
    expect $c 7 || return
    agent monitor name="$IMG_PLAIN" snap=s1
    expect $c 0 || return
    agent stop name="$IMG_PLAIN" snap=s1
    expect $c 0 || return
    echo "ok $c"
}

case_mon_dns() {
    c=mon-dns
    # One name for every monitor, the first address a dead one: both drivers still map.
    port=$(sed -n 's/^[[:space:]]*mon[_ ]host[[:space:]]*=.*v1:[0-9.]*:\([0-9]*\).*/\1/p' "$CEPH_CONF" | head -n 1)
    [ -n "$port" ] || { case_fail $c "no v1 monitor address in $CEPH_CONF"; return; }
    printf '127.0.0.2 ceph-mons.lab\n127.0.0.1 ceph-mons.lab\n' >>/etc/hosts
    conf=$(mktemp)
    printf '[global]\n' >"$conf" # no mon_host: mon alone says where the monitors are
    for d in krbd nbd; do
        agent start name="$IMG_PLAIN" driver=$d mon="ceph-mons.lab:$port" cephconf="$conf"
        expect $c 0 "mapped" || return
        grep -q "127.0.0.2" "$out" || [ $d = krbd ] || { case_fail $c "rbd-nbd did not get both addresses"; return; }
        if [ $d = krbd ] && ! grep -q "127.0.0.2:$port,127.0.0.1:$port name=" "$out"; then
            case_fail $c "the kernel did not get both addresses"
            return
        fi
        agent stop name="$IMG_PLAIN"
        expect $c 0 || return
    done
    rm -f "$conf"
    echo "ok $c"
}

case_typo_stop() {
    c='typo-stop'
    # krbd: a typo in a name or the user after start; the record says what to unmap.
    for typo in "name=a/b" "user=a b"; do
        agent start name="$IMG_PLAIN" driver=krbd
        expect $c 0 "with the kernel rbd driver" || return
        dev=$(link_target "$POOL/$IMG_PLAIN")
        grep -qF "\"device\":\"$dev\"" "$RECORD" 2>/dev/null || { case_fail $c "no record of $dev in $RECORD"; return; }
        agent stop name="$IMG_PLAIN" "$typo"
        expect $c 0 "unmapped $POOL/$IMG_PLAIN from $dev, as this node's record says start mapped it" || return
        [ ! -e "/sys/block/${dev#/dev/}" ] || { case_fail $c "$dev still mapped after stop with $typo"; return; }
        [ ! -e "$RECORD" ] || { case_fail $c "record left after stop"; return; }
        [ ! -e "/dev/rbd/$POOL/$IMG_PLAIN" ] || { case_fail $c "link left after stop"; return; }
        agent monitor name="$IMG_PLAIN"
        expect $c 7 || return
    done
    log "$c: krbd unmapped by the record"
    # rbd-nbd: the same, rbd-nbd exits
    agent start name="$IMG_PLAIN" driver=nbd
    expect $c 0 "with rbd-nbd" || return
    dev=$(link_target "$POOL/$IMG_PLAIN")
    pid=$(cat "/sys/block/${dev#/dev/}/pid")
    agent stop name="a/b"
    expect $c 0 "unmapped $POOL/$IMG_PLAIN from $dev" || return
    [ ! -d "/proc/$pid" ] || { case_fail $c "rbd-nbd $pid still runs"; return; }
    log "$c: rbd-nbd unmapped by the record"
    # A device number the kernel gave to another image since is not unmapped.
    agent start name="$IMG_PLAIN" driver=krbd
    expect $c 0 || return
    dev=$(link_target "$POOL/$IMG_PLAIN")
    # -o noudev: the VM runs no udev, for which rbd would otherwise wait forever
    admin_rbd_bounded device unmap -o noudev "$dev" >"$out" 2>&1 || { case_fail $c "rbd device unmap"; return; }
    admin_rbd snap create "$POOL/$IMG_PLAIN@typo" >"$out" 2>&1 || { case_fail $c "rbd snap create"; return; }
    other=$(admin_rbd_bounded device map -o noudev --read-only "$POOL/$IMG_PLAIN@typo" 2>"$out") || { case_fail $c "rbd device map"; return; }
    if [ "$other" != "$dev" ]; then
        # the kernel gave it another number: nothing to prove here, but say so
        log "the snapshot got $other, not $dev: the reused-number check is vacuous"
    fi
    agent stop name="a/b"
    expect $c 0 || { admin_rbd device unmap -o noudev "$other"; return; }
    if [ "$other" = "$dev" ]; then
        grep -qF "leaving it mapped" "$out" || { case_fail $c "no word of leaving $dev alone"; admin_rbd device unmap -o noudev "$other"; return; }
    fi
    [ -e "/sys/block/${other#/dev/}" ] || { case_fail $c "$other (another image) was unmapped"; return; }
    admin_rbd_bounded device unmap -o noudev "$other" >"$out" 2>&1 || { case_fail $c "rbd device unmap $other"; return; }
    rm -f "/dev/rbd/$POOL/$IMG_PLAIN" # the agent's link, which the admin's unmap left behind
    admin_rbd snap rm "$POOL/$IMG_PLAIN@typo" >"$out" 2>&1 || { case_fail $c "rbd snap rm"; return; }
    echo "ok $c"
}

case_ocf_tester() {
    c=ocf-tester
    # ocf-tester runs the agent from a resource.d folder and sees its meta-data.
    mkdir -p /usr/lib/ocf/resource.d/kvmha
    cp "$RBD_AGENT" /usr/lib/ocf/resource.d/kvmha/rbd
    ocf-tester -n rbdtest -o name="$IMG_PLAIN" -o pool="$POOL" -o cephconf="$CEPH_CONF" -o user="$CEPH_USER" \
        -o secret="$CEPH_KEYRING" /usr/lib/ocf/resource.d/kvmha/rbd >"$out" 2>&1
    rc=$?
    expect $c 0 "passed all tests" || return
    echo "ok $c"
}

[ -x "${RBD_AGENT:-}" ] || { echo "RBD_AGENT is not executable: ${RBD_AGENT:-unset}"; exit 1; }
log "kernel $(uname -r), rbd supported_features $(modprobe rbd && cat /sys/bus/rbd/supported_features)"
for c in $CASES; do
    t0=$(date +%s.%N)
    case $c in
    krbd) case_krbd ;;
    nbd) case_nbd ;;
    auto-nbd) case_auto_nbd ;;
    auto-krbd) case_auto_krbd ;;
    held) case_held ;;
    in-use) case_in_use ;;
    snapshot) case_snapshot ;;
    mon-dns) case_mon_dns ;;
    typo-stop) case_typo_stop ;;
    ocf-tester) case_ocf_tester ;;
    *) case_fail "$c" "unknown case" ;;
    esac
    log "$c took $(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{printf "%.1f", a-b}') s"
done
rm -f "$out"
if [ $failed = 0 ]; then echo PASS; else echo FAIL; fi
exit $failed
