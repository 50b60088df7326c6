#!/bin/bash
# ceph.sh: a throwaway Ceph Pacific for the lab: one mon, one osd, cephx on, pool "rbd" (size 1,
# rbd-initialized), HEALTH_OK without a mgr, usable in ~1.5 s.
#
#   ceph.sh up     [NAME]  create and start a fresh cluster (a running one that answers is left alone)
#   ceph.sh down   [NAME]  stop the daemons of NAME (by pid file); safe twice and after a failed up
#   ceph.sh status [NAME]  pids and "ceph -s"; exit 3 when not running
#   ceph.sh env    [NAME]  print CEPH_CONF= CEPH_KEYRING= CEPH_USER= CEPH_POOL= CEPH_ADMIN_KEYRING=
#                          CEPH_MON_HOST= (shell lines, absolute paths)
#   ceph.sh restart-osd|restart-mon [NAME]
#                          stop one daemon (TERM, KILL after 10 s) and start it again with its data
#                          (a daemon restart, as an operator's systemctl restart; use bluestore for
#                          the osd: memstore loses everything)
#
# NAME defaults to "ceph"; everything lives in $LAB_STATE/NAME:
#   ceph.conf              client configuration (fsid, mon_host, keyring search path; no secrets)
#   keyring                client.admin (0600)
#   client.kvmha.keyring   client.kvmha, caps mon 'profile rbd' osd 'profile rbd pool=rbd'
#                          mgr 'profile rbd pool=rbd' (0600)
#   env                    the output of "env"
#   daemon.conf, daemon.keyring, mon/ osd/ mgr/ run/*.pid log/ netns   the daemons' own files
# The knobs below apply to "up"; "down" and "status" work from the files. To change a knob of a
# running cluster, run "down" first.
#
# Knobs (environment):
#   LAB_CEPH_PORT=13300      mon msgr2 port; msgr1 is PORT+1; daemons bind PORT+10..PORT+99
#   LAB_CEPH_ADDR=127.0.0.1  the one address every daemon binds and clients use
#   LAB_CEPH_NETNS=          run every daemon and the bootstrap client in "ip netns exec NETNS"
#   LAB_CEPH_STORE=memstore  memstore (RAM; data is lost when the osd restarts) | bluestore
#                            (sparse file osd/block)
#   LAB_CEPH_STORE_GB=4      memstore capacity / bluestore file size
#   LAB_CEPH_MGR=0           1: also start a ceph-mgr
#   LAB_CEPH_TIMEOUT=60      seconds allowed for each wait
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2; }
CMD=${1:-}
NAME=${2:-ceph}
[ -n "$CMD" ] || usage
case "$NAME" in '' | */* | .*) lab_die ceph "bad NAME '$NAME'" ;; esac

PORT=${LAB_CEPH_PORT:-13300}
ADDR=${LAB_CEPH_ADDR:-127.0.0.1}
NETNS=${LAB_CEPH_NETNS:-}
STORE=${LAB_CEPH_STORE:-memstore}
STORE_GB=${LAB_CEPH_STORE_GB:-4}
WITH_MGR=${LAB_CEPH_MGR:-0}
TMO=${LAB_CEPH_TIMEOUT:-60}
POOL=rbd
USER_ID=kvmha
case "$STORE" in memstore | bluestore) ;; *) lab_die "$NAME" "LAB_CEPH_STORE must be memstore or bluestore" ;; esac

mkdir -p "$LAB_STATE"
D=$(cd "$LAB_STATE" && pwd)/$NAME
CONF=$D/ceph.conf             # clients
DCONF=$D/daemon.conf          # daemons and the bootstrap session
ADMIN_KEYRING=$D/keyring
USER_KEYRING=$D/client.$USER_ID.keyring
DKEYRING=$D/daemon.keyring    # mon., osd.0, mgr.x (+ the client keys, imported by mon --mkfs)
MARK=$D/.lab-ceph
PY=/usr/bin/python3           # python3-rados lives in Debian's dist-packages, not in other pythons

# NSX: the prefix that runs a command in the cluster's network namespace (empty: root namespace).
NSX=()
[ -z "$NETNS" ] || NSX=(ip netns exec "$NETNS")

log() { lab_log "$NAME" "$@"; }

# The daemons' pids, osd/mgr first (an osd whose mon is gone waits 5 s for a shutdown ack).
daemon_pids() {
    local f pid
    for f in "$D/run/osd.0.pid" "$D/run/mgr.x.pid" "$D/run/mon.a.pid"; do
        pid=$(lab_pid_alive "$f" "--conf $DCONF") && echo "$pid"
    done
    return 0
}

down() {
    [ -e "$MARK" ] || return 0
    local first=() last=() pid
    pid=$(lab_pid_alive "$D/run/osd.0.pid" "--conf $DCONF") && first+=("$pid")
    pid=$(lab_pid_alive "$D/run/mgr.x.pid" "--conf $DCONF") && first+=("$pid")
    pid=$(lab_pid_alive "$D/run/mon.a.pid" "--conf $DCONF") && last+=("$pid")
    [ $((${#first[@]} + ${#last[@]})) = 0 ] || log "stopping pids ${first[*]} ${last[*]}"
    lab_stop_pids 10 "${first[@]}"
    lab_stop_pids 10 "${last[@]}"
    rm -f "$D"/run/*.pid
}

# ctl PHASE ARGS...: one librados session per phase instead of one 0.5 s "ceph" process per
# command. Runs as client.admin on daemon.conf, inside the cluster's network namespace.
ctl() {
    "${NSX[@]}" "$PY" - "$DCONF" "$TMO" "$LAB_T0" "$NAME" "$@" <<'PYEOF'
import json, sys, time
import rados
conf, tmo, t0, name, phase, args = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6:]

def log(msg):
    print('[lab %-8s %6.2fs] %s' % (name, time.time() - t0, msg), file=sys.stderr)

def connect(timeout, **kw):
    r = rados.Rados(conffile=conf, conf={'client_mount_timeout': str(timeout),
                                         'rados_mon_op_timeout': str(timeout),
                                         'rados_osd_op_timeout': str(timeout)}, **kw)
    r.connect(timeout=timeout)
    return r

if phase == 'ping':  # does the running cluster answer? (used by an idempotent "up")
    try:
        r = connect(5)
        with r.open_ioctx(args[0]) as io:
            next(iter(io.list_objects()), None)  # needs an active PG, i.e. a working osd
        r.shutdown()
    except Exception as e:
        sys.exit('no answer: %s' % e)
    sys.exit(0)

deadline = time.time() + tmo
r = connect(tmo)

def mon(**cmd):
    ret, out, err = r.mon_command(json.dumps(cmd), b'', timeout=tmo)
    if ret != 0:
        sys.exit('mon_command %s failed: %d %s' % (cmd, ret, err))
    return out

def wait(what, pred, step):
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            sys.exit('timed out waiting for %s' % what)
        time.sleep(step)

if phase == 'pre':  # the mon answers: register osd.0 and create the pool while the osd's mkfs runs
    osd_uuid, pool = args
    mon(prefix='osd new', uuid=osd_uuid, id=0)
    mon(prefix='osd pool create', pool=pool, pg_num=8, pgp_num=8, pool_type='replicated', size=1)
elif phase == 'post':  # the osd runs: wait up+in, "rbd pool init", mgr, HEALTH_OK, try the user
    pool, with_mgr, user, user_keyring = args
    def osd_up():
        d = json.loads(mon(prefix='osd dump', format='json'))
        return any(o['osd'] == 0 and o['up'] == 1 and o['in'] == 1 for o in d['osds'])
    wait('osd.0 up+in', osd_up, 0.05)
    log('osd.0 up+in')
    import rbd
    with r.open_ioctx(pool) as io:
        rbd.RBD().pool_init(io, False)  # blocks until the PGs are active
    log("pool '%s' initialized" % pool)
    if with_mgr == '1':
        wait('an active mgr', lambda: json.loads(mon(prefix='mgr stat', format='json')).get('available'), 0.1)
        log('mgr active')
    last = {}
    def health_ok():
        last['h'] = json.loads(mon(prefix='health', detail='detail', format='json'))
        return last['h']['status'] == 'HEALTH_OK'
    try:
        wait('HEALTH_OK', health_ok, 0.1)
    except SystemExit:
        sys.exit('timed out waiting for HEALTH_OK: %s' % json.dumps(last.get('h')))
    log('HEALTH_OK')
    u = rados.Rados(conffile=conf, name='client.' + user, conf={'keyring': user_keyring,
                                                               'client_mount_timeout': str(tmo)})
    u.connect(timeout=tmo)
    with u.open_ioctx(pool) as io:
        rbd.RBD().list(io)
    u.shutdown()
    log('client.%s can use pool %s' % (user, pool))
r.shutdown()
PYEOF
}

running() { # the daemons run and the cluster answers
    [ -e "$MARK" ] || return 1
    lab_pid_alive "$D/run/mon.a.pid" "--conf $DCONF" >/dev/null || return 1
    lab_pid_alive "$D/run/osd.0.pid" "--conf $DCONF" >/dev/null || return 1
    [ "$WITH_MGR" != 1 ] || lab_pid_alive "$D/run/mgr.x.pid" "--conf $DCONF" >/dev/null || return 1
    ctl ping "$POOL" 2>/dev/null
}

start_daemon() { # start_daemon NAME BINARY ARGS...: foreground daemon in its own session
    local dname=$1; shift
    setsid "${NSX[@]}" "$@" --conf "$DCONF" -f </dev/null >>"$D/log/$dname.out" 2>&1 &
    echo $! >"$D/run/$dname.pid"
}

write_confs() { # write_confs FSID
    local fsid=$1 mon_host="[v2:$ADDR:$PORT,v1:$ADDR:$((PORT + 1))]" grace=60
    [ "$WITH_MGR" = 1 ] || grace=315360000 # no mgr: keep MGR_DOWN out of the health
    cat >"$CONF" <<EOF
# Lab Ceph "$NAME" (test/lab/ceph.sh), client configuration. Keys are not in here:
# client.admin is in $ADMIN_KEYRING, client.$USER_ID in $USER_KEYRING.
[global]
fsid = $fsid
mon_host = $mon_host
keyring = $D/\$name.keyring,$ADMIN_KEYRING
EOF
    cat >"$DCONF" <<EOF
# Lab Ceph "$NAME" (test/lab/ceph.sh), daemon configuration.
[global]
fsid = $fsid
mon_host = $mon_host
public_addr = $ADDR
cluster_addr = $ADDR
ms_bind_ipv4 = true
ms_bind_ipv6 = false
ms_bind_port_min = $((PORT + 10))
ms_bind_port_max = $((PORT + 99))
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
auth_allow_insecure_global_id_reclaim = false
keyring = $DKEYRING
run_dir = $D/run
crash_dir = $D/crash
log_file = $D/log/\$name.log
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000

[client]
log_file =
admin_socket =

[mon]
mon_data = $D/mon
mon_cluster_log_file = $D/log/cluster.log
mon_initial_members = a
paxos_propose_interval = 0.1
mon_data_avail_warn = 2
mon_data_avail_crit = 0
mon_mgr_mkfs_grace = $grace
mgr_initial_modules = iostat

[osd]
osd_data = $D/osd
osd_objectstore = $STORE
osd_crush_initial_weight = 1
memstore_device_bytes = $((STORE_GB << 30))
bluestore_block_create = true
bluestore_block_size = $((STORE_GB << 30))
bluestore_fsck_on_mount = false
bluestore_fsck_on_mkfs = false
bdev_aio_poll_ms = 10
osd_op_num_shards = 1
osd_op_num_threads_per_shard = 2
osd_memory_target = 939524096
bluestore_cache_autotune = false
bluestore_cache_size = 134217728

[mgr]
mgr_data = $D/mgr
mgr_disabled_modules = alerts influx insights localpool mirroring nfs osd_support prometheus restful selftest snap_schedule stats telegraf test_orchestrator zabbix
EOF
}

write_keyrings() {
    # The client keyrings first, then the daemons' keyring with everything imported: mon --mkfs
    # seeds the auth database from it, so no "auth add" round trips are needed later.
    local at=(ceph-authtool)
    (
        umask 077
        "${at[@]}" "$ADMIN_KEYRING" --create-keyring --gen-key -n client.admin \
            --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
        "${at[@]}" "$USER_KEYRING" --create-keyring --gen-key -n "client.$USER_ID" \
            --cap mon 'profile rbd' --cap osd "profile rbd pool=$POOL" --cap mgr "profile rbd pool=$POOL" >/dev/null
        "${at[@]}" "$DKEYRING" --create-keyring --gen-key -n mon. --cap mon 'allow *' >/dev/null
        "${at[@]}" "$DKEYRING" --gen-key -n osd.0 \
            --cap mon 'allow profile osd' --cap mgr 'allow profile osd' --cap osd 'allow *' >/dev/null
        "${at[@]}" "$DKEYRING" --gen-key -n mgr.x \
            --cap mon 'allow profile mgr' --cap osd 'allow *' --cap mds 'allow *' >/dev/null
        "${at[@]}" "$DKEYRING" --import-keyring "$ADMIN_KEYRING" >/dev/null
        "${at[@]}" "$DKEYRING" --import-keyring "$USER_KEYRING" >/dev/null
    )
    chmod 0600 "$ADMIN_KEYRING" "$USER_KEYRING" "$DKEYRING"
}

check_addr() {
    # "ip route get" is one request, not a dump that breaks while other labs add interfaces
    if ! "${NSX[@]}" ip route get "$ADDR" 2>/dev/null | grep -q "^local $ADDR "; then
        lab_die "$NAME" "address $ADDR is not configured${NETNS:+ in netns $NETNS}; set LAB_CEPH_ADDR"
    fi
    local p
    for p in "$PORT" "$((PORT + 1))"; do
        if "${NSX[@]}" bash -c "exec 3<>/dev/tcp/$ADDR/$p" 2>/dev/null; then
            lab_die "$NAME" "$ADDR:$p is already in use (another cluster?); set LAB_CEPH_PORT"
        fi
    done
}

up_failed() {
    local rc=$?
    [ "$rc" != 0 ] || return 0
    log "up FAILED (rc=$rc), log tails:"
    tail -n 5 "$D"/log/*.log "$D"/log/*.out >&2 2>/dev/null || true
    down
}

up() {
    if running; then
        log "already running ($CONF)"
        return 0
    fi
    if [ -e "$D" ] && [ ! -e "$MARK" ] && [ -n "$(ls -A "$D" 2>/dev/null)" ]; then
        lab_die "$NAME" "$D exists, is not empty and was not made by ceph.sh; refusing"
    fi
    down
    [ -z "$NETNS" ] || [ -e "/run/netns/$NETNS" ] || lab_die "$NAME" "network namespace $NETNS does not exist"
    check_addr
    rm -rf "${D:?}"/{mon,osd,mgr,log,run,crash,ceph.conf,daemon.conf,keyring,client.*.keyring,daemon.keyring,monmap,env,netns}
    mkdir -p "$D"/{mon,osd,mgr,log,run,crash}
    touch "$MARK"
    printf '%s\n' "$NETNS" >"$D/netns"
    trap up_failed EXIT

    local fsid osd_uuid mkfs_pid
    fsid=$(cat /proc/sys/kernel/random/uuid)
    osd_uuid=$(cat /proc/sys/kernel/random/uuid)
    write_confs "$fsid"
    write_keyrings
    monmaptool --create --fsid "$fsid" --addv a "[v2:$ADDR:$PORT,v1:$ADDR:$((PORT + 1))]" "$D/monmap" >/dev/null
    ceph-mon --conf "$DCONF" -i a --mkfs --monmap "$D/monmap" --keyring "$DKEYRING"
    start_daemon mon.a ceph-mon -i a
    log "mon started (pid $(cat "$D/run/mon.a.pid")) on $ADDR:$PORT${NETNS:+ in netns $NETNS}"
    # The osd's mkfs runs while the bootstrap session registers the osd and creates the pool.
    "${NSX[@]}" ceph-osd --conf "$DCONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$D/log/osd.0.mkfs" 2>&1 &
    mkfs_pid=$!
    [ "$WITH_MGR" != 1 ] || start_daemon mgr.x ceph-mgr -i x
    ctl pre "$osd_uuid" "$POOL"
    log "osd.0 registered, pool '$POOL' created"
    if ! wait "$mkfs_pid"; then
        cat "$D/log/osd.0.mkfs" >&2
        lab_die "$NAME" "osd mkfs failed"
    fi
    start_daemon osd.0 ceph-osd -i 0
    log "osd started (pid $(cat "$D/run/osd.0.pid")), $STORE"
    ctl post "$POOL" "$WITH_MGR" "$USER_ID" "$USER_KEYRING"
    env_lines >"$D/env"
    trap - EXIT
    log "ready: $CONF"
}

env_lines() {
    local mon_host
    mon_host=$(sed -n 's/^mon_host = //p' "$CONF" 2>/dev/null || true)
    [ -n "$mon_host" ] || mon_host="[v2:$ADDR:$PORT,v1:$ADDR:$((PORT + 1))]"
    printf '%s\n' "CEPH_CONF=$CONF" "CEPH_KEYRING=$USER_KEYRING" "CEPH_USER=$USER_ID" \
        "CEPH_POOL=$POOL" "CEPH_ADMIN_KEYRING=$ADMIN_KEYRING" "CEPH_MON_HOST=$mon_host"
}

status() {
    local pids ns
    ns=$(cat "$D/netns" 2>/dev/null || true)
    NSX=()
    [ -z "$ns" ] || NSX=(ip netns exec "$ns")
    pids=$(daemon_pids | tr '\n' ' ')
    if [ -z "$pids" ]; then
        echo "$NAME: stopped"
        return 3
    fi
    echo "$NAME: pids $pids($D${ns:+, netns $ns})"
    "${NSX[@]}" timeout "$TMO" ceph --conf "$CONF" --keyring "$ADMIN_KEYRING" -s
}

# restart_daemon FILE BINARY ARGS...: restart one daemon of a running cluster in place.
restart_daemon() {
    local dname=$1 pid ns
    shift
    [ -e "$MARK" ] || lab_die "$NAME" "no cluster in $D"
    ns=$(cat "$D/netns" 2>/dev/null || true)
    NSX=()
    [ -z "$ns" ] || NSX=(ip netns exec "$ns")
    if pid=$(lab_pid_alive "$D/run/$dname.pid" "--conf $DCONF"); then
        lab_stop_pids 10 "$pid"
    fi
    start_daemon "$dname" "$@"
    log "$dname restarted (pid $(cat "$D/run/$dname.pid"))"
}

case "$CMD" in
up) up ;;
restart-osd) restart_daemon osd.0 ceph-osd -i 0 ;;
restart-mon) restart_daemon mon.a ceph-mon -i a ;;
down) down ;;
status) status ;;
env) env_lines ;;
*) usage ;;
esac
