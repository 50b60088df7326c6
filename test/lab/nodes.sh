#!/bin/bash
# nodes.sh: an N-node corosync + pacemaker cluster on one host, one "machine" per node.
#
#   nodes.sh up [N]          N nodes (default 3), wait until every node sees all N online and
#                            agrees on the DC; with stonith on, create the fence device lab-fence
#                            (fence_lab) and wait until it runs. Leaves a running lab alone.
#   nodes.sh down            stop the power switch, clean stop of all nodes in parallel (SIGKILL
#                            after LAB_NODES_TIMEOUT), delete the namespaces. Safe twice.
#   nodes.sh exec I CMD...   run CMD inside node I (its net, mount, uts and pid namespaces)
#   nodes.sh kill I          power off node I: SIGKILL of its pid-namespace init
#   nodes.sh start I         boot node I again (keeps its disk: CIB, logs)
#   nodes.sh stop I          clean shutdown of node I (SIGTERM to its init)
#   nodes.sh status          power and pid of every node, the switch, and one node's crm_mon
#   nodes.sh wait-online [I...]  wait until every running node sees nodes I... (default all)
#                            online and all running nodes agree on one DC
#
# Layout: netns kvmha-hub holds bridge br0; node i lives in netns kvmha-n<i> (eth0 10.77.0.<i>/24,
# veth n<i> to br0) and a pid+mount+uts namespace whose pid 1 is node-init.sh (hostname node<i>,
# private /run and /dev/shm, binds of $LAB_STATE/nodes/node<i>/root/* over /var/lib/pacemaker,
# /var/lib/corosync, /var/log/pacemaker, /etc/corosync and libvirt's /etc, /var/lib, /run,
# /var/log, /var/cache dirs; /etc/hosts names every node). Fencing: power-switch.sh (host side)
# serves the switch directory /var/lib/kvmha-lab/switch, which every node sees; the agent
# /usr/sbin/fence_lab (built by up from test/lab/fence-lab when its sources are newer) talks to it.
# exec exits 3 when the node is off; status exits 0 when a node's crm_mon answers, else 3.
# With libvirt: the host reaches node i's libvirtd at
# qemu:///system?socket=$LAB_STATE/nodes/node<i>/root/run-libvirt/libvirt-sock, nodes reach each
# other at qemu+tcp://node<j>/system (migration works, ~1.2 s for a small TCG guest).
#
# Env (read by up; a node that boots again reuses the values of the last up):
#   LAB_NODES_STONITH=true|false   cluster property stonith-enabled (default true)
#   LAB_NODES_DC_DEADTIME=2s       cluster property dc-deadtime
#   LAB_NODES_LIBVIRT=1            every node also runs its own libvirtd (TCP 16509 on 10.77.0.<i>)
#   LAB_NODES_CEPH=1               also a Ceph cluster for the nodes, in the hub at 10.77.0.250
#                                  (ceph.sh state "ceph-nodes", port LAB_NODES_CEPH_PORT=13400);
#                                  up records its ceph.sh env lines prefixed NODES_ (NODES_CEPH_CONF…)
#   LAB_NODES_FAKETIME=1           the node's daemons run under libfaketime, their wall clock
#                                  offset by the file node<i>/faketime ("+30", "-90", "+0"; read
#                                  every second; monotonic clocks stay true): a clock step on
#                                  one node, which the nodes' shared kernel cannot give
#   LAB_NODES_TIMEOUT=60           bound (s) for up, wait-online and clean stops
#   LAB_SWITCH_DIR, LAB_SWITCH_REBOOT_DELAY=5  see power-switch.sh
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$LAB_DIR/pcmk-lib.sh"

C=nodes
NS=$LAB_STATE/nodes
SW=${LAB_SWITCH_DIR:-/var/lib/kvmha-lab/switch}
HUB=kvmha-hub
HUB_ADDR=10.77.0.250
TIMEOUT=${LAB_NODES_TIMEOUT:-60}
FENCE_AGENT=/usr/sbin/fence_lab
FENCE_SRC=$LAB_DIR/fence-lab
export LAB_SWITCH_DIR=$SW

nnodes() { cat "$NS/nnodes" 2>/dev/null || echo 0; }
node_pid() { lab_pid_alive "$NS/node$1/init.pid" node-init.sh; }
switch_pid() { lab_pid_alive "$NS/switch.pid" power-switch.sh; }
node_exec() { # node_exec I CMD...
    local p
    p=$(node_pid "$1") || { echo "node$1 is off" >&2; return 3; }
    shift
    nsenter -t "$p" -m -u -n -p --wd=/ -- "$@"
}
elapsed() { awk -v a="$EPOCHREALTIME" -v b="$1" 'BEGIN{printf "%.1f", a-b}'; }
check_index() {
    if ! [[ $1 =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > $(nnodes))); then lab_die $C "no node $1 (lab has $(nnodes))"; fi
}

# ---- one node -----------------------------------------------------------------------------
# with_lock I FUNC: run FUNC I holding node I's lock (the switch and a user may race).
with_lock() {
    local rc=0
    mkdir -p "$NS/node$1"
    exec {lk}>"$NS/node$1/lock"
    flock -w "$TIMEOUT" "$lk" || lab_die $C "node$1 is locked"
    "$2" "$1" || rc=$?
    exec {lk}>&-
    return $rc
}

start_node() {
    local i=$1 ND=$NS/node$1 l c k
    node_pid "$i" >/dev/null && return 0
    [ -e "/run/netns/kvmha-n$i" ] || lab_die $C "netns kvmha-n$i is missing (nodes.sh up first)"
    setsid nsenter --net="/run/netns/kvmha-n$i" \
        unshare --mount --uts --pid --fork --kill-child --mount-proc \
        "$LAB_DIR/node-init.sh" "$i" "$NS" >>"$ND/init.log" 2>&1 </dev/null {lk}>&- &
    l=$!
    # $l becomes unshare (setsid and nsenter exec); its only child is the node's init.
    for ((k = 0; k < 100; k++)); do
        # shellcheck disable=SC2013 # the file is one line of pids: its words are what is wanted
        for c in $(cat "/proc/$l/task/$l/children" 2>/dev/null); do
            if tr '\0' ' ' 2>/dev/null <"/proc/$c/cmdline" | grep -q node-init.sh; then
                echo "$c" >"$ND/init.pid"
                echo "$l" >"$ND/launcher.pid"
                return 0
            fi
        done
        [ -d "/proc/$l" ] || break
        sleep 0.05
    done
    lab_die $C "node$i did not boot: $(tail -5 "$ND/init.log")"
}

kill_node() {
    local i=$1 ND=$NS/node$1 p k
    if p=$(node_pid "$i"); then
        kill -KILL "$p"
        # The pid namespace is empty once its init is gone (the kernel waits for all members).
        for ((k = 0; k < 100; k++)); do
            if [ ! -e "/proc/$p" ] || grep -qs '^State:.*Z' "/proc/$p/status"; then break; fi
            sleep 0.05
        done
    fi
    rm -f "$ND/init.pid"
}

stop_node() {
    local i=$1 ND=$NS/node$1 p
    if p=$(node_pid "$i"); then
        lab_stop_pids "$TIMEOUT" "$p"
    fi
    rm -f "$ND/init.pid"
}

# ---- cluster views --------------------------------------------------------------------------
wait_online() { # wait_online [I...]
    local n t0=$EPOCHREALTIME i j k dc dc0 ok any names=()
    n=$(nnodes)
    [ $# -gt 0 ] || set -- $(seq 1 "$n")
    for i in "$@"; do check_index "$i"; names+=("node$i"); done
    for ((k = 0; k < TIMEOUT * 5; k++)); do
        ok=1 any=0 dc0=
        for ((j = 1; j <= n; j++)); do
            node_pid "$j" >/dev/null || continue
            any=1
            dc=$(node_exec "$j" crm_mon -1 --output-as=xml 2>/dev/null | pcmk_view_ok "${names[@]}") || { ok=0; break; }
            : "${dc0:=$dc}"
            [ "$dc" = "$dc0" ] || { ok=0; break; }
        done
        if [ $any = 1 ] && [ $ok = 1 ]; then
            lab_log $C "${names[*]} online in every running node's view, DC $dc0 ($(elapsed "$t0") s)"
            return 0
        fi
        sleep 0.2
    done
    for ((j = 1; j <= n; j++)); do
        node_pid "$j" >/dev/null && { echo "--- node$j's view" >&2; node_exec "$j" crm_mon -1 >&2 || true; }
    done
    lab_die $C "${names[*]} not online everywhere after $TIMEOUT s"
}

first_on() { local j; for ((j = 1; j <= $(nnodes); j++)); do node_pid "$j" >/dev/null && { echo "$j"; return 0; }; done; return 1; }

ensure_fence_device() {
    local j hosts k
    j=$(first_on) || lab_die $C "no node is on"
    if ! node_exec "$j" crm_resource --resource lab-fence --query-xml >/dev/null 2>&1; then
        hosts=$(seq -f 'node%g' -s ' ' 1 "$(nnodes)")
        node_exec "$j" pcs stonith create lab-fence fence_lab pcmk_host_list="$hosts" ||
            lab_die $C "pcs stonith create lab-fence failed"
    fi
    for ((k = 0; k < TIMEOUT * 5; k++)); do
        node_exec "$j" crm_mon -1 --output-as=xml 2>/dev/null |
            grep -q '<resource id="lab-fence" [^>]*role="Started"' && return 0
        sleep 0.2
    done
    lab_die $C "lab-fence not started after $TIMEOUT s"
}

install_fence_agent() {
    if [ -d "$FENCE_SRC" ] && compgen -G "$FENCE_SRC/*.go" >/dev/null; then
        if [ ! -x "$FENCE_AGENT" ] || [ -n "$(find "$FENCE_SRC" "$LAB_ROOT/internal" "$LAB_ROOT/go.mod" "$LAB_ROOT/go.sum" \
            -newer "$FENCE_AGENT" -print -quit 2>/dev/null)" ]; then
            lab_log $C "building $FENCE_AGENT from test/lab/fence-lab"
            mkdir -p "$LAB_CACHE"
            (cd "$LAB_ROOT" && PATH=$PATH:/usr/local/go/bin GOFLAGS=-mod=mod go build -o "$LAB_CACHE/fence_lab" ./test/lab/fence-lab) ||
                lab_die $C "go build of test/lab/fence-lab failed"
            install -m 0755 "$LAB_CACHE/fence_lab" "$FENCE_AGENT"
        fi
    fi
    [ -x "$FENCE_AGENT" ] || lab_die $C "$FENCE_AGENT missing (no test/lab/fence-lab to build); set LAB_NODES_STONITH=false"
}

# ---- whole lab ---------------------------------------------------------------------------
all_running() {
    local n i
    n=$(nnodes)
    [ "$n" -gt 0 ] && switch_pid >/dev/null || return 1
    for ((i = 1; i <= n; i++)); do node_pid "$i" >/dev/null || return 1; done
}

make_network() {
    local n=$1 i
    mountpoint -q /run/netns 2>/dev/null || : >"$NS/netns-mount-ours"
    ip netns add $HUB
    ip -n $HUB link set lo up
    ip -n $HUB link add br0 type bridge
    ip -n $HUB link set br0 up
    # The hub's own address: services the lab runs for the nodes (their Ceph) listen here.
    ip -n $HUB addr add "$HUB_ADDR/24" dev br0
    for ((i = 1; i <= n; i++)); do
        ip netns add "kvmha-n$i"
        ip -n $HUB link add "n$i" type veth peer name eth0 netns "kvmha-n$i"
        ip -n $HUB link set "n$i" master br0 up
        ip -n "kvmha-n$i" link set lo up
        ip -n "kvmha-n$i" addr add "10.77.0.$i/24" dev eth0
        ip -n "kvmha-n$i" link set eth0 up
    done
}

prepare_nodes() {
    local n=$1 i ND R members=() uuid
    [ -s "$NS/authkey" ] || corosync-keygen -k "$NS/authkey" >/dev/null 2>&1
    for ((i = 1; i <= n; i++)); do members+=("node$i:10.77.0.$i:$i"); done
    pcmk_corosync_conf kvmha-nodes /etc/corosync/authkey - "${members[@]}" >"$NS/corosync.conf"
    { cat /etc/hosts; for ((i = 1; i <= n; i++)); do echo "10.77.0.$i node$i"; done; } >"$NS/hosts"
    rm -f "$NS/passwd" "$NS/group"
    if ! getent passwd libvirt-qemu >/dev/null; then
        cp /etc/passwd "$NS/passwd"
        cp /etc/group "$NS/group"
        echo 'libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin' >>"$NS/passwd"
        getent group libvirt-qemu >/dev/null || echo 'libvirt-qemu:x:64055:' >>"$NS/group"
        getent group kvm >/dev/null || echo 'kvm:x:64054:' >>"$NS/group"
    fi
    # Mount points for the libvirt binds (empty directories on the host).
    mkdir -p /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
    for ((i = 1; i <= n; i++)); do
        ND=$NS/node$i R=$NS/node$i/root
        # A fresh disk for every up; libvirt's capability cache survives (first probe ~7 s).
        rm -rf "$ND/root/var-"{lib,log}-* "$ND/root/etc-"* "$ND/root/run-libvirt" "$ND"/*.log "$ND"/*.pid
        mkdir -p "$R"/{var-lib-corosync,etc-corosync/uidgid.d,etc-libvirt,var-lib-libvirt,run-libvirt,var-log-libvirt,var-cache-libvirt}
        install -d -o hacluster -g haclient -m 0770 "$R/var-log-pacemaker"
        pcmk_seed_state "$R/var-lib-pacemaker" "${LAB_NODES_DC_DEADTIME:-2s}" "${LAB_NODES_STONITH:-true}"
        cp "$NS/corosync.conf" "$R/etc-corosync/corosync.conf"
        install -m 0400 "$NS/authkey" "$R/etc-corosync/authkey"
        [ -s "$ND/host_uuid" ] || cat /proc/sys/kernel/random/uuid >"$ND/host_uuid"
        uuid=$(cat "$ND/host_uuid")
        cat >"$R/etc-libvirt/libvirtd.conf" <<EOF
unix_sock_group = "root"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
listen_tls = 0
listen_tcp = 1
listen_addr = "10.77.0.$i"
auth_tcp = "none"
host_uuid = "$uuid"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
        cat >"$R/etc-libvirt/qemu.conf" <<EOF
# Lab node: qemu runs as root, no security driver, no cgroups, no virtlogd (no systemd here).
user = "root"
group = "root"
security_driver = "none"
stdio_handler = "file"
cgroup_controllers = [ ]
namespaces = [ ]
dynamic_ownership = 0
remember_owner = 0
migration_address = "10.77.0.$i"
migration_host = "10.77.0.$i"
EOF
        : >"$R/etc-libvirt/libvirt.conf"
        printf 'LIBVIRT=%s\nFAKETIME=%s\n' "${LAB_NODES_LIBVIRT:-0}" "${LAB_NODES_FAKETIME:-0}" >"$ND/node.env"
    done
}

up() {
    local n=${1:-3} i t0=$EPOCHREALTIME
    if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > 16)); then lab_die $C "N must be 1..16"; fi
    if all_running; then
        [ "$(nnodes)" = "$n" ] || lab_die $C "lab runs $(nnodes) nodes, not $n: nodes.sh down first"
        lab_log $C "already up ($n nodes)"
        wait_online
        [ "${LAB_NODES_STONITH:-true}" != true ] || ensure_fence_device
        return 0
    fi
    if [ -e "$NS/nnodes" ] || [ -e /run/netns/$HUB ] || compgen -G '/run/netns/kvmha-n[0-9]*' >/dev/null; then
        lab_log $C "leftovers of an earlier lab found, cleaning up first"
        down
    fi
    [ "${LAB_NODES_STONITH:-true}" != true ] || install_fence_agent
    mkdir -p "$NS"
    echo "$n" >"$NS/nnodes"
    make_network "$n"
    prepare_nodes "$n"

    mkdir -p "$SW/req" "$SW/done" "$SW/power"
    rm -f "$SW"/req/* "$SW"/done/* "$SW"/power/* "$SW/alive"
    setsid "$LAB_DIR/power-switch.sh" >>"$NS/switch.log" 2>&1 </dev/null &
    echo $! >"$NS/switch.pid"

    if [ "${LAB_NODES_CEPH:-0}" = 1 ]; then start_nodes_ceph; fi
    for ((i = 1; i <= n; i++)); do with_lock "$i" start_node; done
    lab_log $C "$n nodes booted ($(elapsed "$t0") s)"
    wait_online
    if [ "${LAB_NODES_STONITH:-true}" = true ]; then
        ensure_fence_device
        lab_log $C "fence device lab-fence started ($(elapsed "$t0") s)"
    fi
    lab_env_set LAB_NODES "$n"
    lab_env_set LAB_SWITCH_DIR "$SW"
    local pids=()
    for ((i = 1; i <= n; i++)); do pids+=("$(node_pid "$i")"); done
    lab_log $C "up: $n nodes in $(elapsed "$t0") s, $(pcmk_rss_kib "${pids[@]}" "$(switch_pid)") KiB RSS"
}

# start_nodes_ceph: a Ceph the nodes reach (the main lab Ceph on 127.0.0.1 is out of their
# reach), with its env lines recorded as NODES_CEPH_CONF, NODES_CEPH_KEYRING, ...
start_nodes_ceph() {
    LAB_CEPH_NETNS=$HUB LAB_CEPH_ADDR=$HUB_ADDR LAB_CEPH_PORT=${LAB_NODES_CEPH_PORT:-13400} \
        "$LAB_DIR/ceph.sh" up ceph-nodes
    local key value
    while IFS='=' read -r key value; do
        [ -n "$key" ] && lab_env_set "NODES_${key#export }" "$value"
    done < <("$LAB_DIR/ceph.sh" env ceph-nodes)
}

down() {
    local n i p
    if p=$(switch_pid); then lab_stop_pids 5 "$p"; fi # first, so it powers nothing on meanwhile
    rm -f "$NS/switch.pid" "$SW/alive" "$SW"/power/* 2>/dev/null || true
    n=$(nnodes)
    for d in "$NS"/node[0-9]*; do
        [ -d "$d" ] || continue
        i=${d##*/node}
        with_lock "$i" stop_node &
    done
    wait
    "$LAB_DIR/ceph.sh" down ceph-nodes
    for ns in /run/netns/kvmha-n[0-9]* /run/netns/$HUB; do
        if [ -e "$ns" ]; then ip netns del "${ns##*/}"; fi
    done
    if [ -e "$NS/netns-mount-ours" ]; then
        if mountpoint -q /run/netns && [ -z "$(ls -A /run/netns)" ]; then umount /run/netns; fi
        rm -f "$NS/netns-mount-ours"
    fi
    rm -f "$NS/nnodes"
    lab_log $C "down ($n nodes)"
}

status() {
    local n i p rc=3 j
    n=$(nnodes)
    if p=$(switch_pid); then echo "switch: running (pid $p), $SW"; else echo "switch: stopped"; fi
    for ((i = 1; i <= n; i++)); do
        if p=$(node_pid "$i"); then echo "node$i: on (init pid $p)"; else echo "node$i: off"; fi
    done
    if j=$(first_on); then
        echo "--- crm_mon on node$j"
        node_exec "$j" crm_mon -1 && rc=0
    fi
    return $rc
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
up) up "$@" ;;
down) down ;;
exec)
    [ $# -ge 2 ] || lab_die $C "usage: nodes.sh exec I CMD..."
    check_index "$1"
    p=$(node_pid "$1") || { echo "node$1 is off" >&2; exit 3; }
    shift
    exec nsenter -t "$p" -m -u -n -p --wd=/ -- "$@"
    ;;
kill | start | stop)
    [ $# = 1 ] || lab_die $C "usage: nodes.sh $cmd I"
    check_index "$1"
    with_lock "$1" "${cmd}_node"
    ;;
status) status ;;
wait-online) wait_online "$@" ;;
*)
    echo "usage: nodes.sh up [N] | down | exec I CMD... | kill I | start I | stop I | status | wait-online [I...]" >&2
    exit 2
    ;;
esac
