#!/bin/bash
# libvirt.sh: a private libvirtd (qemu driver, TCG guests) per lab node, without systemd.
#
#   libvirt.sh up     NAME [NETNS]  start (idempotent); prints the client URI
#   libvirt.sh down   NAME          destroy its guests, TERM the daemon (KILL after 10 s); safe twice
#   libvirt.sh uri    NAME          print qemu:///system?socket=<abs path>
#   libvirt.sh status NAME          daemon pid and domains; exit 3 when not running
#
# State in $LAB_STATE/libvirt-NAME: etc/ run/ lib/ log/ cache/ are bind-mounted over /etc/libvirt,
# /run/libvirt, /var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt in a mount namespace of
# the daemon's own (everything else, e.g. /var/tmp or $LAB_STATE, stays the host's). When the
# host has no libvirt-qemu user (libvirt-daemon-system is not installed) copies of /etc/passwd
# and /etc/group with that user are bound over the originals in that namespace only.
# qemu runs as root, security_driver none, stdio_handler file, no cgroups, no per-guest /dev.
# The daemon runs in the foreground under the lab's subreaper (test/lab/reaper, built on demand
# into $LAB_STATE/bin), which reaps qemu at once (PID 1 here takes ~2 s) and exits with it.
# Files: run/libvirtd.pid, run/libvirt-sock, log/libvirtd.log, log/qemu/<domain>.log, host_uuid,
# reaper.pid, ns-init.sh (the namespace set-up), etc/qemu/ and etc/secrets/ (kept across restarts).
#
# NETNS: run the daemon in "ip netns exec NETNS" and listen on TCP 16509 without auth (migration
# between the nodes of the multi-node lab).
# Knobs (environment):
#   LAB_LIBVIRT_MIGRATION_HOST=  qemu.conf migration_host (the namespace's address)
#   LAB_LIBVIRT_LISTEN_TCP=      1/0: TCP 16509 auth none (default: 1 with NETNS, else 0)
#   LAB_LIBVIRT_TIMEOUT=30       seconds allowed for start-up
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2; }
CMD=${1:-}
NAME=${2:-}
NETNS=${3:-}
if [ -z "$CMD" ] || [ -z "$NAME" ]; then usage; fi
case "$NAME" in */* | .*) lab_die libvirt "bad NAME '$NAME'" ;; esac
TMO=${LAB_LIBVIRT_TIMEOUT:-30}

mkdir -p "$LAB_STATE"
D=$(cd "$LAB_STATE" && pwd)/libvirt-$NAME
PIDF=$D/run/libvirtd.pid
SOCK=$D/run/libvirt-sock
URI="qemu:///system?socket=$SOCK"
REAPER=$(cd "$LAB_STATE" && pwd)/bin/reaper
NSINIT=$D/ns-init.sh # sets up the mount namespace and execs libvirtd
TAG="$NSINIT "       # in the reaper's command line: identifies this instance's reaper

log() { lab_log "lv-$NAME" "$@"; }
daemon_pid() { lab_pid_alive "$PIDF" "--config $D/etc/libvirtd.conf"; }
reaper_pid() { lab_pid_alive "${1:-$D/reaper.pid}" "$TAG"; }
reaper_gone() { ! reaper_pid "$1" >/dev/null; }

build_reaper() {
    local src=$LAB_DIR/reaper/main.go
    [ -x "$REAPER" ] && [ "$REAPER" -nt "$src" ] && return 0
    log "building $REAPER"
    mkdir -p "$(dirname "$REAPER")"
    (cd "$LAB_ROOT" && PATH=$PATH:/usr/local/go/bin GOFLAGS=-mod=mod go build -o "$REAPER.tmp" ./test/lab/reaper)
    mv "$REAPER.tmp" "$REAPER"
}

write_config() {
    local tcp=$1 uuid
    [ -s "$D/host_uuid" ] || cat /proc/sys/kernel/random/uuid >"$D/host_uuid"
    uuid=$(cat "$D/host_uuid") # unique per instance: migration refuses equal host UUIDs
    cat >"$D/etc/libvirtd.conf" <<EOF
# lab libvirtd "$NAME" (test/lab/libvirt.sh)
unix_sock_group = "root"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
listen_tls = 0
listen_tcp = $tcp
listen_addr = "0.0.0.0"
tcp_port = "16509"
auth_tcp = "none"
host_uuid = "$uuid"
log_outputs = "3:file:$D/log/libvirtd.log"
EOF
    cat >"$D/etc/qemu.conf" <<EOF
# lab libvirtd "$NAME" (test/lab/libvirt.sh)
# no libvirt-qemu user, AppArmor or SELinux here: qemu runs as root, unconfined
user = "root"
group = "root"
security_driver = "none"
# never chown or label shared files (kernel, consoles); no owner xattrs shared between instances
dynamic_ownership = 0
remember_owner = 0
# virtlogd is not socket-activated without systemd: qemu writes its log and file chardevs itself
stdio_handler = "file"
# no systemd/machined: libvirt would manage global cgroup v1 paths shared by all instances
cgroup_controllers = [ ]
# no private /dev per guest: faster start, nothing to leak
namespaces = [ ]
${LAB_LIBVIRT_MIGRATION_HOST:+migration_host = \"$LAB_LIBVIRT_MIGRATION_HOST\"}
EOF
    : >"$D/etc/libvirt.conf"
}

up() {
    if daemon_pid >/dev/null; then
        if [ -S "$SOCK" ]; then
            log "already running ($URI)"
            echo "$URI"
            return 0
        fi
        down_quiet # a daemon without its socket is of no use
    fi
    # A daemon that died leaves its guests running under its reaper: keep both, the new daemon
    # reconnects to the guests (as libvirtd does after a restart); "down" stops them all.
    if reaper_pid >/dev/null; then
        log "daemon gone, guests of the previous one kept"
        mv "$D/reaper.pid" "$D/reaper.old.$(cat "$D/reaper.pid")"
    fi
    [ -z "$NETNS" ] || [ -e "/run/netns/$NETNS" ] || lab_die "lv-$NAME" "network namespace $NETNS does not exist"
    build_reaper
    mkdir -p "$D"/{etc,run,lib,log,cache}
    # the host's mount points for the bind mounts (empty directories when libvirt never ran here)
    mkdir -p /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
    local tcp=${LAB_LIBVIRT_LISTEN_TCP:-$([ -n "$NETNS" ] && echo 1 || echo 0)}
    write_config "$tcp"
    printf '%s\n' "$NETNS" >"$D/netns"
    rm -f "$PIDF" "$SOCK"
    [ ! -e "$D/log/libvirtd.log" ] || mv "$D/log/libvirtd.log" "$D/log/libvirtd.log.old"

    # The qemu driver looks up its built-in default user libvirt-qemu before it reads qemu.conf
    # and fails without it, although qemu.conf says root.
    local fake=0
    if ! getent passwd libvirt-qemu >/dev/null || ! getent group libvirt-qemu >/dev/null; then
        fake=1
        cp /etc/passwd "$D/passwd"
        cp /etc/group "$D/group"
        getent group libvirt-qemu >/dev/null || echo "libvirt-qemu:x:64055:" >>"$D/group"
        getent passwd libvirt-qemu >/dev/null ||
            echo "libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin" >>"$D/passwd"
    fi

    cat >"$NSINIT" <<'EOF'
# ns-init.sh DIR FAKE_USER LIBVIRTD-ARGS...: run by libvirt.sh in the daemon's new mount namespace
set -e
d=$1
if [ "$2" = 1 ]; then
    mount --bind "$d/passwd" /etc/passwd
    mount --bind "$d/group" /etc/group
fi
mount --bind "$d/etc" /etc/libvirt
mount --bind "$d/run" /run/libvirt
mount --bind "$d/lib" /var/lib/libvirt
mount --bind "$d/log" /var/log/libvirt
mount --bind "$d/cache" /var/cache/libvirt
shift 2
exec /usr/sbin/libvirtd "$@"
EOF
    local args=(--pid-file "$PIDF" --config "$D/etc/libvirtd.conf")
    [ "$tcp" != 1 ] || args+=(--listen)
    # slave propagation: the host's later mounts show up inside, the bind mounts never leak out
    local launch=(unshare --mount --propagation slave sh "$NSINIT" "$D" "$fake" "${args[@]}")
    [ -z "$NETNS" ] || launch=(ip netns exec "$NETNS" "${launch[@]}")
    setsid "$REAPER" "${launch[@]}" </dev/null >>"$D/log/launcher.log" 2>&1 &
    echo $! >"$D/reaper.pid"

    # The socket appears before the drivers are ready, but the daemon accepts connections only
    # once they are: wait for the file cheaply, then ask once.
    local i
    for ((i = 0; i < TMO * 50; i++)); do
        [ -S "$SOCK" ] && break
        reaper_pid >/dev/null || break
        sleep 0.02
    done
    if [ ! -S "$SOCK" ] || ! timeout "$TMO" virsh -q -c "$URI" version >/dev/null 2>"$D/log/ready.err"; then
        log "libvirtd did not come up; launcher.log, libvirtd.log:"
        tail -n 20 "$D/log/launcher.log" "$D/log/libvirtd.log" "$D/log/ready.err" >&2 2>/dev/null || true
        down_quiet
        exit 1
    fi
    rm -f "$D/log/ready.err"
    log "up (pid $(daemon_pid)${NETNS:+, netns $NETNS}${LAB_LIBVIRT_MIGRATION_HOST:+, migration_host $LAB_LIBVIRT_MIGRATION_HOST}): $URI"
    echo "$URI"
}

down_quiet() {
    local pid dom f pids=()
    if pid=$(daemon_pid); then
        if [ -S "$SOCK" ]; then
            for dom in $(timeout 10 virsh -q -c "$URI" list --name 2>/dev/null); do
                timeout 10 virsh -q -c "$URI" destroy "$dom" >/dev/null 2>&1 || true
            done
        fi
        log "stopping libvirtd (pid $pid)"
        lab_stop_pids 10 "$pid"
    fi
    # guests the daemon could not destroy (or that outlived it): by libvirt's own pid files
    for f in "$D"/run/qemu/*.pid; do
        [ -e "$f" ] || continue
        dom=$(basename "$f" .pid)
        pid=$(lab_pid_alive "$f" "guest=$dom,") && pids+=("$pid")
    done
    if [ ${#pids[@]} -gt 0 ]; then
        log "killing leftover qemu ${pids[*]}"
        lab_stop_pids 5 "${pids[@]}"
    fi
    # a reaper exits by itself once its last descendant is gone
    for f in "$D/reaper.pid" "$D"/reaper.old.*; do
        [ -e "$f" ] || continue
        if pid=$(reaper_pid "$f"); then
            lab_wait 3 "reaper exit" reaper_gone "$f" || lab_stop_pids 3 "$pid"
        fi
        rm -f "$f"
    done
    rm -f "$PIDF"
}

status() {
    local pid ns
    if ! pid=$(daemon_pid); then
        echo "libvirt-$NAME: stopped"
        return 3
    fi
    ns=$(cat "$D/netns" 2>/dev/null || true)
    echo "libvirt-$NAME: running, pid $pid${ns:+, netns $ns}, $URI"
    virsh -c "$URI" list --all
}

case "$CMD" in
up) up ;;
down) down_quiet ;;
uri) echo "$URI" ;;
status) status ;;
*) usage ;;
esac
