#!/bin/bash
# cluster.sh up|down|status: a one-node corosync (knet on 127.0.0.1, crypto on) + pacemaker
# cluster in the host namespaces; node name node1. State, logs and pids in $LAB_STATE/cluster.
#
#   up      start corosync, seed the CIB (dc-deadtime, stonith-enabled), start pacemakerd and
#           wait until node1 is online and DC. Leaves a running cluster alone.
#   down    clean pacemakerd shutdown (TERM, wait), then corosync; only pids from pid files.
#           Safe twice and after a failed up. Restores /etc/corosync/corosync.conf.
#   status  pids and `crm_mon -1`; exit 0 when node1 is online and DC, 3 otherwise.
#
# pcs and crmsh read /etc/corosync/corosync.conf, so while the cluster runs the lab's file is
# installed there; the original is backed up once and put back by down.
#
# Env: LAB_CLUSTER_DC_DEADTIME (2s), LAB_CLUSTER_STONITH (false), LAB_CLUSTER_KEEP_CIB=1 (keep
#      /var/lib/pacemaker/cib of the last run), LAB_CLUSTER_TIMEOUT (60 s for up and down).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$LAB_DIR/pcmk-lib.sh"

C=cluster
ST=$LAB_STATE/cluster
NODE=node1
ETC_CONF=/etc/corosync/corosync.conf
BACKUP=$ST/etc-corosync.conf.orig # or $BACKUP.absent when there was no file
TIMEOUT=${LAB_CLUSTER_TIMEOUT:-60}

corosync_pid() { lab_pid_alive "$ST/corosync.pid" corosync; }
pacemakerd_pid() { lab_pid_alive "$ST/pacemakerd.pid" pacemakerd; }

online() { crm_mon -1 --output-as=xml 2>/dev/null | pcmk_view_ok "$NODE" | grep -qx "$NODE"; }

etc_install() {
    if [ ! -e "$BACKUP" ] && [ ! -e "$BACKUP.absent" ]; then
        if [ -e "$ETC_CONF" ]; then cp -p "$ETC_CONF" "$BACKUP"; else : >"$BACKUP.absent"; fi
    fi
    mkdir -p /etc/corosync
    cp "$ST/corosync.conf" "$ETC_CONF.lab-tmp"
    mv "$ETC_CONF.lab-tmp" "$ETC_CONF"
}

etc_restore() {
    if [ -e "$BACKUP" ]; then
        cp -p "$BACKUP" "$ETC_CONF"
        rm -f "$BACKUP"
    elif [ -e "$BACKUP.absent" ]; then
        rm -f "$ETC_CONF" "$BACKUP.absent"
    fi
}

up() {
    if pacemakerd_pid >/dev/null && corosync_pid >/dev/null && online; then
        lab_log $C "already up ($NODE online and DC)"
        return 0
    fi
    if [ -s "$ST/pacemakerd.pid" ] || [ -s "$ST/corosync.pid" ]; then
        lab_log $C "half-up cluster found, stopping it first"
        down
    fi
    local t0=$EPOCHREALTIME
    mkdir -p "$ST"

    # corosync
    [ -s "$ST/authkey" ] || corosync-keygen -k "$ST/authkey" >/dev/null 2>&1
    chmod 0400 "$ST/authkey"
    pcmk_corosync_conf kvmha-lab "$ST/authkey" "$ST/corosync.log" "$NODE:127.0.0.1:1" >"$ST/corosync.conf"
    corosync -t -c "$ST/corosync.conf" >/dev/null 2>&1 || lab_die $C "corosync -t rejects $ST/corosync.conf"
    etc_install
    setsid corosync -f -c "$ST/corosync.conf" >"$ST/corosync.out" 2>&1 </dev/null &
    echo $! >"$ST/corosync.pid"
    local i
    for ((i = 0; i < 100; i++)); do
        corosync-quorumtool -s 2>/dev/null | grep -q 'Quorate: *Yes' && break
        corosync_pid >/dev/null || lab_die $C "corosync died: $(tail -5 "$ST/corosync.out" "$ST/corosync.log" 2>/dev/null)"
        sleep 0.1
    done
    [ $i -lt 100 ] || lab_die $C "corosync not quorate after 10 s"

    # pacemaker
    install -d -o hacluster -g haclient -m 0770 /var/log/pacemaker
    if [ "${LAB_CLUSTER_KEEP_CIB:-0}" = 1 ] && [ -s /var/lib/pacemaker/cib/cib.xml ]; then
        lab_log $C "keeping /var/lib/pacemaker/cib"
    else
        pcmk_seed_state /var/lib/pacemaker "${LAB_CLUSTER_DC_DEADTIME:-2s}" "${LAB_CLUSTER_STONITH:-false}"
    fi
    : >"$ST/pacemaker.log"
    chown hacluster:haclient "$ST/pacemaker.log"
    chmod 0660 "$ST/pacemaker.log"
    PCMK_logfile=$ST/pacemaker.log PCMK_logfacility=none \
        setsid pacemakerd >"$ST/pacemakerd.out" 2>&1 </dev/null &
    echo $! >"$ST/pacemakerd.pid"
    for ((i = 0; i < TIMEOUT * 10; i++)); do
        online && break
        pacemakerd_pid >/dev/null || lab_die $C "pacemakerd died: $(tail -5 "$ST/pacemakerd.out" "$ST/pacemaker.log")"
        sleep 0.1
    done
    [ $i -lt $((TIMEOUT * 10)) ] || lab_die $C "$NODE not online and DC after $TIMEOUT s (see $ST/pacemaker.log)"
    lab_env_set LAB_CLUSTER_NODE "$NODE"
    lab_log $C "up: $NODE online and DC in $(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN{printf "%.1f", a-b}') s, $(pcmk_rss_kib "$(corosync_pid)" "$(pacemakerd_pid)") KiB RSS"
}

down() {
    local p kids=()
    if p=$(pacemakerd_pid); then
        # Remember pacemakerd's subdaemons: if it has to be killed they would be orphaned.
        read -r -a kids 2>/dev/null <"/proc/$p/task/$p/children" || true
        lab_log $C "stopping pacemakerd ($p)"
        lab_stop_pids "$TIMEOUT" "$p"
        local k alive=()
        for k in "${kids[@]}"; do
            tr "\\0" " " 2>/dev/null <"/proc/$k/cmdline" | grep -q pacemaker && alive+=("$k")
        done
        [ ${#alive[@]} = 0 ] || lab_stop_pids 5 "${alive[@]}"
    fi
    rm -f "$ST/pacemakerd.pid"
    if p=$(corosync_pid); then
        lab_log $C "stopping corosync ($p)"
        lab_stop_pids 20 "$p"
    fi
    rm -f "$ST/corosync.pid"
    etc_restore
    lab_log $C "down"
}

status() {
    local p
    for d in corosync pacemakerd; do
        if p=$(lab_pid_alive "$ST/$d.pid" "$d"); then echo "$d: running (pid $p)"; else echo "$d: stopped"; fi
    done
    if corosync_pid >/dev/null && pacemakerd_pid >/dev/null; then
        crm_mon -1 2>&1 || true
        online && return 0
    fi
    return 3
}

case ${1:-} in
up) up ;;
down) down ;;
status) status ;;
*) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
