# shellcheck shell=bash
# lib.sh: shared helpers for the lab scripts and the benchmarks (sourced, never run).
# Conventions every lab script follows:
#   - state lives under $LAB_STATE (default test/lab/.state), one folder per component;
#   - every daemon a script starts gets a pid file there, and only those pids are ever stopped;
#   - "up" is idempotent (a running component is left alone), "down" is safe to run twice
#     and after a half-finished "up".
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # the repository's root, for the scripts that source this file
LAB_ROOT=$(cd "$LAB_DIR/../.." && pwd)
LAB_STATE=${LAB_STATE:-$LAB_DIR/.state}
LAB_CACHE=${LAB_CACHE:-$LAB_DIR/.cache}
LAB_T0=${LAB_T0:-$(date +%s.%N)}

lab_log() { # lab_log COMPONENT message...
    local c=$1; shift
    printf '[lab %-8s %6.2fs] %s\n' "$c" "$(awk -v a="$(date +%s.%N)" -v b="$LAB_T0" 'BEGIN{print a-b}')" "$*" >&2
}

lab_die() { local c=$1; shift; lab_log "$c" "ERROR: $*"; exit 1; }

# lab_pid_alive PIDFILE [CMDLINE-SUBSTRING]: print the pid if the process in PIDFILE is alive,
# not a zombie, and (when given) its command line contains the substring. Guards against
# stopping a process that merely reused the pid.
lab_pid_alive() {
    local f=$1 want=${2:-} pid
    [ -s "$f" ] || return 1
    pid=$(cat "$f")
    [ -r "/proc/$pid/status" ] || return 1
    grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && return 1
    if [ -n "$want" ]; then tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$want" || return 1; fi
    echo "$pid"
}

# lab_stop_pids SECONDS PID...: TERM, wait up to SECONDS, then KILL.
lab_stop_pids() {
    local secs=$1; shift
    [ $# -gt 0 ] || return 0
    kill -TERM "$@" 2>/dev/null || true
    local i pid alive
    for ((i = 0; i < secs * 10; i++)); do
        alive=()
        for pid in "$@"; do
            [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && alive+=("$pid")
        done
        [ ${#alive[@]} = 0 ] && return 0
        sleep 0.1
    done
    kill -KILL "${alive[@]}" 2>/dev/null || true
}

# lab_wait SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.1 s until it succeeds, for
# SECONDS of wall time however long COMMAND itself takes. DESCRIPTION is for the reader.
lab_wait() {
    local end=$((${EPOCHREALTIME//[!0-9]/} + $1 * 1000000))
    shift 2
    until "$@" >/dev/null 2>&1; do
        ((${EPOCHREALTIME//[!0-9]/} < end)) || return 1
        sleep 0.1
    done
}

# lab_ceph_ports CONF: the ports the lab's Ceph of CONF listens on - its monitor's v2 port and
# the 99 after it (ceph.sh puts its daemons there) - in LAB_VM_CEPH_PORTS' form (vm.sh); nothing
# when CONF names no v2 monitor.
lab_ceph_ports() {
    local port
    port=$(sed -n 's/^[[:space:]]*mon[_ ]host[[:space:]]*=.*v2:[0-9.]*:\([0-9]*\).*/\1/p' "$1" | head -n 1)
    [ -z "$port" ] || echo "$port-$((port + 99))"
}

# lab_env_set KEY VALUE: record KEY=VALUE in $LAB_STATE/env (replacing an older line).
lab_env_set() {
    mkdir -p "$LAB_STATE"
    local f=$LAB_STATE/env
    touch "$f"
    grep -v "^$1=" "$f" >"$f.tmp" || true
    # Plain KEY=value when the value needs no quoting (paths, URIs), else single quotes:
    # the file must stay both shell-sourceable and easy for other tools to read.
    if [[ $2 =~ ^[][A-Za-z0-9_@%+=:,./?-]*$ ]]; then
        printf '%s=%s\n' "$1" "$2" >>"$f.tmp"
    else
        printf "%s='%s'\n" "$1" "${2//\'/\'\\\'\'}" >>"$f.tmp"
    fi
    mv "$f.tmp" "$f"
}
