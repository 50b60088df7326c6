#!/bin/bash
# fence-bench.sh: how long fencing takes, median of RUNS (10) runs each, against the running
# lab (make lab-up; reads $LAB_STATE/env):
#
#   fence_rbd off      request to confirmed: blocklist one address of a node, wait for the
#                      latest osdmap, read the blocklist back (the agent's exit); "on" between
#                      runs, timed too
#   fence_libvirt off  virsh destroy over libvirt RPC, confirmed shut off (the agent's exit),
#                      on the lab's tiny guest, started and booted (READY) before each run
#   fence_virsh off    the same guest through fence-agents' fence_virsh (ssh to a private
#                      sshd on 127.0.0.1 whose sessions get LIBVIRT_DEFAULT_URI=the lab's
#                      libvirtd); skipped when /usr/sbin/sshd or fence_virsh is missing
#
# Each figure is the wall time of the agent process, options on stdin as pacemaker-fenced
# passes them. Env: RUNS (10), BENCH_SSH_PORT (2222).
set -euo pipefail
. "$(dirname "$0")/../lab/lib.sh"

RUNS=${RUNS:-10}
SSH_PORT=${BENCH_SSH_PORT:-2222}
C=bench
[ -r "$LAB_STATE/env" ] || lab_die $C "no $LAB_STATE/env: run make lab-up first"
# shellcheck source=/dev/null # the lab's env file, written by lab-up
. "$LAB_STATE/env"

WORK=$(mktemp -d /tmp/kvmha-fence-bench.XXXXXX)
GUEST=bench-$$
SSHD_PID=
# shellcheck disable=SC2317 # run by the EXIT trap, which shellcheck does not follow
cleanup() {
    if [ -n "$SSHD_PID" ]; then kill "$SSHD_PID" 2>/dev/null || true; fi
    virsh -c "$LIBVIRT_URI" destroy "$GUEST" >/dev/null 2>&1 || true
    virsh -c "$LIBVIRT_URI" undefine "$GUEST" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$LAB_ROOT" && GOFLAGS=-mod=mod go build -tags pacific -o "$WORK/" ./cmd/fence_rbd ./cmd/fence_libvirt) ||
    lab_die $C "go build failed"

ms_since() { awk -v a="$EPOCHREALTIME" -v b="$1" 'BEGIN{printf "%.0f\n", (a-b)*1000}'; }

# timed FILE AGENT STDIN: run AGENT with STDIN, append its wall time (ms) to FILE; fail loudly.
timed() {
    local file=$1 agent=$2 input=$3 t0 out
    t0=$EPOCHREALTIME
    if ! out=$("$agent" <<<"$input" 2>&1); then
        lab_die $C "$(basename "$agent") failed: $out"
    fi
    ms_since "$t0" >>"$file"
}

# report LABEL FILE: median, min and max of FILE's numbers.
report() {
    sort -n "$2" | awk -v label="$1" '{v[NR]=$1} END {
        m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
        printf "%-22s median %6.0f ms   min %5.0f   max %5.0f   (%d runs)\n", label, m, v[1], v[NR], NR }'
}

# ---- fence_rbd ------------------------------------------------------------------------------
rbd_opts() {
    printf '%s\n' "action=$1" "port=bench" "hosts=bench=10.231.254.77" "ceph_conf=$CEPH_CONF" \
        "ceph_user=admin" "ceph_keyring=$CEPH_ADMIN_KEYRING" "pools=$CEPH_POOL"
}
lab_log $C "fence_rbd: $RUNS × off and on against $CEPH_CONF"
for ((i = 0; i < RUNS; i++)); do
    timed "$WORK/rbd-off" "$WORK/fence_rbd" "$(rbd_opts off)"
    timed "$WORK/rbd-on" "$WORK/fence_rbd" "$(rbd_opts on)"
done

# ---- the guest ------------------------------------------------------------------------------
"$LAB_DIR/guest.sh" domain "$GUEST" >"$WORK/guest.xml"
virsh -c "$LIBVIRT_URI" define "$WORK/guest.xml" >/dev/null
CONSOLE=$LAB_STATE/consoles/$GUEST.log
boot_guest() {
    virsh -c "$LIBVIRT_URI" start "$GUEST" >/dev/null
    lab_wait 60 "$GUEST ready" grep -q 'kvmha-guest: READY' "$CONSOLE" || lab_die $C "$GUEST did not boot"
}
shut_off() { [ "$(virsh -c "$LIBVIRT_URI" domstate "$GUEST")" = "shut off" ]; }

lab_log $C "fence_libvirt: $RUNS × off of $GUEST"
for ((i = 0; i < RUNS; i++)); do
    boot_guest
    timed "$WORK/lv-off" "$WORK/fence_libvirt" "$(printf '%s\n' action=off "port=$GUEST" "uri=$LIBVIRT_URI")"
    shut_off || lab_die $C "fence_libvirt off returned but $GUEST is not shut off"
done

# ---- fence_virsh over a private sshd ------------------------------------------------------
if [ -x /usr/sbin/sshd ] && [ -x /usr/sbin/fence_virsh ]; then
    S=$WORK/ssh
    mkdir -p "$S" /run/sshd
    ssh-keygen -q -t ed25519 -N '' -f "$S/hostkey"
    ssh-keygen -q -t ed25519 -N '' -f "$S/client"
    cp "$S/client.pub" "$S/authorized_keys"
    cat >"$S/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $S/hostkey
AuthorizedKeysFile $S/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $S/sshd.pid
SetEnv LIBVIRT_DEFAULT_URI=$LIBVIRT_URI
EOF
    /usr/sbin/sshd -f "$S/sshd_config" -E "$S/sshd.log" || lab_die $C "sshd did not start: $(tail -3 "$S/sshd.log")"
    lab_wait 10 "sshd pid file" test -s "$S/sshd.pid" || lab_die $C "sshd wrote no pid file"
    SSHD_PID=$(cat "$S/sshd.pid")
    # fence_virsh's own ssh_options, plus a throwaway known_hosts.
    SSH_OPTIONS=$(
        cat <<'EOF'
-t -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null '/bin/bash -c "PS1=\\[EXPECT\\]# /bin/bash --noprofile --norc"'
EOF
    )
    lab_log $C "fence_virsh: $RUNS × off of $GUEST over ssh to 127.0.0.1:$SSH_PORT"
    for ((i = 0; i < RUNS; i++)); do
        boot_guest
        timed "$WORK/virsh-off" /usr/sbin/fence_virsh "$(printf '%s\n' action=off "port=$GUEST" ip=127.0.0.1 \
            "ipport=$SSH_PORT" username=root "identity_file=$S/client" "ssh_options=$SSH_OPTIONS")"
        shut_off || lab_die $C "fence_virsh off returned but $GUEST is not shut off"
    done
else
    lab_log $C "fence_virsh: skipped (needs /usr/sbin/sshd from openssh-server, and fence-agents)"
fi

echo "fence-bench: median of $RUNS runs, wall time of the agent process (options on stdin)"
report "fence_rbd off" "$WORK/rbd-off"
report "fence_rbd on" "$WORK/rbd-on"
report "fence_libvirt off" "$WORK/lv-off"
[ -s "$WORK/virsh-off" ] && report "fence_virsh off" "$WORK/virsh-off"
exit 0
