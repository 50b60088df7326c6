#!/bin/bash
# power-switch.sh: the lab's host-side power switch for the nodes of nodes.sh, which starts it
# (setsid, pid file $LAB_STATE/nodes/switch.pid) and stops it (SIGTERM). Never inside a node.
#
# File contract with the fence agent fence_lab, in SWITCH_DIR (default /var/lib/kvmha-lab/switch,
# the same path inside every node):
#   req/<id>.req  written atomically by the agent: one line "<action> <target>",
#                 action off|on|reboot, target node<i>
#   done/<id>     written atomically by the switch once the action is done: the exit code
#                 (0 ok, 1 bad request or failure); the request file is then removed
#   alive         rewritten every ~0.2 s (its mtime is the switch's heartbeat)
#   power/node<i> "on" or "off", kept current
# off = SIGKILL of the node's pid-namespace init (nodes.sh kill), on = nodes.sh start,
# reboot = off, report done, then on after LAB_SWITCH_REBOOT_DELAY (5 s): a node that rejoins
# before the cluster has recorded its fencing hears of it and stops pacemaker for good.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

C=switch
NS=$LAB_STATE/nodes
SW=${LAB_SWITCH_DIR:-/var/lib/kvmha-lab/switch}
DELAY=${LAB_SWITCH_REBOOT_DELAY:-5}
N=$(<"$NS/nnodes")
mkdir -p "$SW/req" "$SW/done" "$SW/power"

declare -A power=()    # node index -> last written power state
declare -A poweron=()  # node index -> time (µs) of a scheduled power-on

now_us() { echo "${EPOCHREALTIME/./}"; }

# node_power I: set P to "on" when the node's init (pid file of nodes.sh) is alive, else "off".
# Builtins only, no subshell: this runs 5 times a second for every node.
node_power() {
    local pid args state=
    P=off
    read -r pid 2>/dev/null <"$NS/node$1/init.pid" || return 0
    mapfile -d '' args 2>/dev/null <"/proc/$pid/cmdline" || return 0
    [[ "${args[*]}" == *node-init.sh* ]] || return 0
    while read -r k v; do [ "$k" = State: ] && { state=$v; break; }; done 2>/dev/null <"/proc/$pid/status"
    case $state in '' | Z*) ;; *) P=on ;; esac
}

write_file() { # write_file PATH CONTENT: atomic replace
    printf '%s\n' "$2" >"$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"
}

refresh_power() {
    local i
    for ((i = 1; i <= N; i++)); do
        node_power "$i"
        [ "${power[$i]:-}" = "$P" ] && continue
        write_file "$SW/power/node$i" "$P"
        power[$i]=$P
    done
}

handle() { # handle REQFILE
    local f=$1 id action='' target='' i rc=0
    id=${f##*/}
    id=${id%.req}
    read -r action target <"$f" || true
    i=${target#node}
    if [[ ! $i =~ ^[0-9]+$ ]] || ((i < 1 || i > N)); then
        rc=1
    else
        case $action in
        off) unset "poweron[$i]"; "$LAB_DIR/nodes.sh" kill "$i" || rc=1 ;;
        on) unset "poweron[$i]"; "$LAB_DIR/nodes.sh" start "$i" || rc=1 ;;
        reboot)
            "$LAB_DIR/nodes.sh" kill "$i" || rc=1
            [ $rc != 0 ] || poweron[$i]=$(($(now_us) + DELAY * 1000000))
            ;;
        *) rc=1 ;;
        esac
    fi
    write_file "$SW/done/$id" "$rc"
    rm -f "$f"
    lab_log $C "request $id: $action $target -> rc=$rc"
}

trap 'lab_log $C "stopped"; exit 0' TERM INT
lab_log $C "serving $SW for $N nodes (reboot delay $DELAY s)"
while :; do
    printf '%s\n' "$EPOCHREALTIME" >"$SW/alive"
    for f in "$SW"/req/*.req; do
        [ -e "$f" ] && handle "$f"
    done
    t=$(now_us)
    for i in "${!poweron[@]}"; do
        ((t >= poweron[$i])) || continue
        unset "poweron[$i]"
        if "$LAB_DIR/nodes.sh" start "$i"; then
            lab_log $C "node$i powered on after reboot"
        else
            lab_log $C "node$i: power-on after reboot failed"
        fi
    done
    refresh_power
    sleep 0.2
done
