#!/bin/bash
# heartbeat.sh: fencing a dead node through fence_kvmha (ocf:kvmha:HostHeartbeat on the hub
# Ceph and a shared directory, default timeouts) against the lab's power switch (fence_lab,
# the fastest fencing the lab has), on the 3-node lab. Each run kills the node running a Dummy
# resource and measures the time from the kill to the fencing confirmed in Pacemaker's history
# and to the Dummy running on another node; then the node is powered on again and rejoins.
#
#   test/bench/heartbeat.sh [RUNS]      (default 5 runs per agent)
#
# Brings the 3-node lab up itself (nodes.sh up 3, LAB_NODES_CEPH=1) and down at the end; the
# Pacemaker clusters of the lab are one resource per machine, so nothing else may run them
# meanwhile. Needs root and Go. Installs HostHeartbeat, fence_kvmha and kvmha as the lab tests
# do (/usr/lib/ocf/resource.d/kvmha, /usr/sbin).
set -euo pipefail
. "$(dirname "$0")/../lab/lib.sh"
C=bench
export LAB_STATE
export LAB_NODES_CEPH=1
RUNS=${1:-5}
WORK=$(mktemp -d "$LAB_STATE/bench-heartbeat.XXXXXX") # on the host's filesystem: every node sees it
N() { "$LAB_DIR/nodes.sh" "$@"; }
cleanup() {
    set +e
    N down >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT

lab_log $C "building the agents"
(cd "$LAB_ROOT" && GOFLAGS=-mod=mod go build -tags pacific -trimpath -o "$WORK/" ./cmd/HostHeartbeat ./cmd/fence_kvmha ./cmd/kvmha)
install -D -m 0755 "$WORK/HostHeartbeat" /usr/lib/ocf/resource.d/kvmha/HostHeartbeat
install -m 0755 "$WORK/fence_kvmha" /usr/sbin/fence_kvmha
install -m 0755 "$WORK/kvmha" /usr/sbin/kvmha

N up 3 >&2
set -a
# shellcheck source=/dev/null # the lab's env file, written by nodes.sh up
. "$LAB_STATE/env"
set +a
mkdir -p "$WORK/shared"
BACKENDS="rados://$NODES_CEPH_POOL/kvmha-hb,file://$WORK/shared"
CEPH=(ceph_conf="$NODES_CEPH_CONF" ceph_user="$NODES_CEPH_USER" ceph_keyring="$NODES_CEPH_KEYRING")
# Default interval, timeout and watchdog timeout. The records must promise a watchdog for a
# dead node to be provable: a file stands in for the device (nothing hangs in this bench).
N exec 1 pcs resource create hb ocf:kvmha:HostHeartbeat backends="$BACKENDS" \
    watchdog_device="file:$WORK/wd-%n" libvirt_uri=none "${CEPH[@]}" op monitor interval=10s clone >&2
N exec 1 pcs resource create d1 ocf:heartbeat:Dummy op monitor interval=5s >&2

now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN{printf "%.2f", a-b}'; }
mon() { N exec "$1" crm_mon -1 --output-as=xml 2>/dev/null || true; }
where() { # where FROM ID: the node a started resource runs on
    mon "$1" | awk -v id="$2" 'f && /<node name=/ { match($0, /name="[^"]*"/); print substr($0, RSTART + 6, RLENGTH - 7); exit }
        { f = 0 } index($0, "<resource id=\"" id "\"") && /role="Started"/ { f = 1 }'
}
clones() { mon "$1" | grep -c 'resource_agent="ocf:kvmha:HostHeartbeat" role="Started"' || true; }
fencings() { N exec "$1" stonith_admin --history "$2" --verbose --output-as=xml 2>/dev/null | grep -c 'status="success"' || true; }
ready() { # the device of this round, the Dummy, and (for fence_kvmha) the clone everywhere
    local dev=$1 on
    on=$(mon 1)
    grep -q "<resource id=\"$dev\" [^>]*role=\"Started\"" <<<"$on" &&
        grep -q '<resource id="d1" [^>]*role="Started"' <<<"$on" &&
        [ "$(grep -c 'online="true"' <<<"$on")" = 3 ] &&
        { [ "$dev" != kvmha-fence ] || [ "$(clones 1)" = 3 ]; }
}

# one_run DEVICE: kill the node running d1; print "fence_s resource_s".
one_run() {
    local dev=$1 victim i obs before t0 tf='' tr=''
    lab_wait 120 "the lab ready for $dev" ready "$dev" || { lab_log $C "lab not ready for $dev"; return 1; }
    sleep 2 # let every daemon observe everyone
    victim=$(where 1 d1)
    i=${victim#node}
    obs=1; [ "$i" = 1 ] && obs=2
    before=$(fencings "$obs" "$victim")
    t0=$(now)
    N kill "$i"
    while [ -z "$tf" ] || [ -z "$tr" ]; do
        if [ -z "$tf" ] && [ "$(fencings "$obs" "$victim")" -gt "$before" ]; then tf=$(since "$t0"); fi
        if [ -z "$tr" ]; then
            local on
            on=$(where "$obs" d1)
            if [ -n "$on" ] && [ "$on" != "$victim" ]; then tr=$(since "$t0"); fi
        fi
        if awk -v t="$(since "$t0")" 'BEGIN{exit !(t > 120)}'; then lab_log $C "run timed out"; return 1; fi
        sleep 0.1
    done
    echo "$tf $tr"
    N start "$i" >/dev/null 2>&1 || true
    N wait-online >/dev/null 2>&1
}

stats() { # stats VALUES...: "median worst"
    printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.1f %.1f", m, v[NR]}'
}

declare -A FENCE RES
bench() { # bench DEVICE
    local dev=$1 r out fs=() rs=()
    for ((r = 1; r <= RUNS; r++)); do
        out=$(one_run "$dev")
        lab_log $C "$dev run $r: fence confirmed ${out% *} s, d1 elsewhere ${out#* } s after the kill"
        fs+=("${out% *}") rs+=("${out#* }")
    done
    FENCE[$dev]=$(stats "${fs[@]}")
    RES[$dev]=$(stats "${rs[@]}")
}

N exec 1 pcs stonith delete lab-fence >&2
N exec 1 pcs stonith create kvmha-fence fence_kvmha backends="$BACKENDS" pcmk_host_list="node1 node2 node3" "${CEPH[@]}" >&2
bench kvmha-fence
N exec 1 pcs stonith delete kvmha-fence >&2
N exec 1 pcs stonith create lab-fence fence_lab pcmk_host_list="node1 node2 node3" >&2
bench lab-fence

echo
echo "node killed -> fencing confirmed / Dummy running elsewhere, $RUNS runs each (seconds)"
printf '%-28s %8s %8s %10s %10s\n' agent "fence" "worst" resource worst
for dev in kvmha-fence lab-fence; do
    read -r fm fw <<<"${FENCE[$dev]}"
    read -r rm rw <<<"${RES[$dev]}"
    name="fence_kvmha (defaults)"
    [ "$dev" = lab-fence ] && name="fence_lab (power switch)"
    printf '%-28s %8s %8s %10s %10s\n' "$name" "$fm" "$fw" "$rm" "$rw"
done
