#!/bin/bash
# demo.sh (make demo): ocf:kvmha:VirtualDomain in a 3-node lab cluster, end to end.
#
# On a Debian 12 machine, as root: installs what it needs, builds and installs the agent and
# fence_rbd, brings up the lab (3 nodes, each with its own libvirtd, and a Ceph they share),
# writes a tiny guest into an RBD image as a bootable disk (MBR + syslinux + kernel + initramfs,
# booted by SeaBIOS from the RBD disk), creates the resource with pcs, live-migrates the guest,
# kills the node it runs on, shows that node fenced (Ceph blocklist + power off) and the guest
# running on another node, prints the times, and tears the lab down, also on failure.
#
# Env: LAB_STATE, LAB_CACHE, LAB_NODES_CEPH_PORT as for the lab scripts (test/lab/README.md);
# DEMO_KEEP=1 leaves the lab running at the end (stop it with: make lab-down).
set -Eeuo pipefail
# shellcheck source-path=SCRIPTDIR source=lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab/lib.sh"
export LAB_STATE LAB_CACHE LAB_T0
export LAB_NODES_LIBVIRT=1 LAB_NODES_CEPH=1
export PATH=$PATH:/usr/local/go/bin GOFLAGS=-mod=mod

NODES=$LAB_DIR/nodes.sh
DEMO=$LAB_STATE/demo          # files every node sees: the domain XML, the fence keyring
VM=vm                         # the Pacemaker resource
DOMAIN=kvmha-demo             # the libvirt domain
IMAGE=demo-guest              # its RBD image
CONSOLE=$LAB_STATE/consoles/$DOMAIN.log
OCF_AGENT=/usr/lib/ocf/resource.d/kvmha/VirtualDomain

T0=$EPOCHREALTIME
STEP=0
started_lab=0
declare -A took=()

# ---- output ------------------------------------------------------------------------------------
since() { awk -v a="$EPOCHREALTIME" -v b="$1" 'BEGIN{printf "%.1f", a-b}'; }
if [ -t 1 ]; then B=$'\033[1m' R=$'\033[1;31m' N=$'\033[0m'; else B='' R='' N=''; fi
step() { STEP=$((STEP + 1)); printf '\n%s[%2d] %s%s  (t=%ss)\n' "$B" "$STEP" "$*" "$N" "$(since "$T0")"; }
say() { printf '     %s\n' "$@"; }
show() { sed -e 's/^/     | /'; }   # indent a command's output
# The terminal, kept for die and teardown: a signal may arrive while a wait_for predicate runs
# with its output sent to /dev/null, and the trap runs with those redirections.
exec {OUT}>&1 {ERR}>&2
die() {
    exec 1>&$OUT 2>&$ERR
    printf '\n%sDEMO FAILED at step %d: %s%s\n' "$R" "$STEP" "$*" "$N" >&2
    exit 1
}
# quiet CMD...: run CMD, show its output only when it fails.
quiet() {
    local out
    if ! out=$("$@" 2>&1); then
        printf '%s\n' "$out" | tail -20 | show >&2
        die "$* failed"
    fi
}

# ---- the lab -----------------------------------------------------------------------------------
on() { "$NODES" exec "$@"; }                            # on I CMD...: run CMD in node I
hub() { ip netns exec kvmha-hub "$@"; }                 # in the hub namespace (where Ceph is)
ceph_admin() { hub timeout 30 ceph -c "$NODES_CEPH_CONF" -k "$NODES_CEPH_ADMIN_KEYRING" "$@"; }

# where_runs I: the node the VM resource is Started on, as node I sees it ("" if none).
where_runs() {
    on "$1" timeout 10 crm_mon -1 --output-as=xml 2>/dev/null |
        xmllint --xpath "string(//resource[@id='$VM' and @role='Started' and @nodes_running_on='1' and @failed='false']/node/@name)" - 2>/dev/null || true
}

# wait_for SECONDS WHAT CMD...: poll CMD every 0.2 s; die naming WHAT when it never succeeds.
wait_for() {
    local secs=$1 what=$2 t=$EPOCHREALTIME
    shift 2
    while ! "$@" >/dev/null 2>&1; do
        if [ "$(since "$t" | cut -d. -f1)" -ge "$secs" ]; then
            say "timed out after ${secs}s waiting for: $what"
            diagnose
            die "$what: not within ${secs}s"
        fi
        sleep 0.2
    done
}

diagnose() {
    local i
    for i in 1 2 3; do
        if on "$i" true 2>/dev/null; then
            say "--- crm_mon on node$i:"
            on "$i" timeout 10 crm_mon -1 -r 2>&1 | show || true
            break
        fi
    done
    if [ -s "$CONSOLE" ]; then
        say "--- guest console ($CONSOLE), last lines:"
        tr -d '\0\r' <"$CONSOLE" | tail -8 | show
    fi
}

# The guest's serial console (the file is shared by every node; each new qemu truncates it).
console() { tr -d '\0\r' <"$CONSOLE" 2>/dev/null || true; }
guest_ready() { console | grep -q 'kvmha-guest: READY' && console | grep -q "^DISK: vda $DISK_BYTES read=ok md5_4k=$DISK_MD5"; }
guest_uptime() { console | sed -n 's/^kvmha-guest: alive, uptime \([0-9.]*\)s$/\1/p' | tail -1; }
uptime_past() { local u; u=$(guest_uptime); [ -n "$u" ] && awk -v u="$u" -v m="$1" 'BEGIN{exit !(u > m)}'; }
runs_somewhere() { [ -n "$(where_runs "$1")" ]; }
runs_on() { [ "$(where_runs "$1")" = "$2" ]; }
runs_elsewhere() { local n; n=$(where_runs "$1"); [ -n "$n" ] && [ "$n" != "$2" ]; }
fenced() { # fenced I NODE: node I's fencing history has a successful off (or reboot) of NODE
    local n
    n=$(on "$1" timeout 10 stonith_admin --history "$2" --verbose --output-as=xml 2>/dev/null |
        xmllint --xpath "count(//fence_event[@target='$2' and (@action='off' or @action='reboot') and @status='success'])" - 2>/dev/null) || return 1
    [ "${n:-0}" -gt 0 ]
}
qemu_incoming() { # the qemu of the domain was started for an incoming migration
    local f
    for f in /proc/[0-9]*/cmdline; do
        tr '\0' ' ' <"$f" 2>/dev/null | grep -q "qemu-system.*guest=$DOMAIN,.*-incoming" && return 0
    done
    return 1
}

teardown() {
    local rc=$?
    trap - EXIT INT TERM
    exec 1>&$OUT 2>&$ERR
    if [ "$started_lab" = 1 ]; then
        if [ "${DEMO_KEEP:-0}" = 1 ]; then
            printf '\nDEMO_KEEP=1: the lab keeps running (LAB_STATE=%s); stop it with: make lab-down\n' "$LAB_STATE"
        else
            printf '\n[--] teardown: nodes.sh down, lab-down\n'
            if [ "$rc" != 0 ]; then
                # After a failure the guest may be mid-boot, when it ignores the ACPI button and
                # a clean stop waits out its timeout: leave the resources alone, nodes.sh kills them.
                local i
                for i in 1 2 3; do
                    if on "$i" true 2>/dev/null; then
                        timeout 20 "$NODES" exec "$i" pcs property set maintenance-mode=true >/dev/null 2>&1 || true
                        break
                    fi
                done
            fi
            "$NODES" down >"$DEMO/teardown.log" 2>&1 || { echo "     nodes.sh down failed (see $DEMO/teardown.log)"; rc=1; }
            "$LAB_DIR/lab-down" >>"$DEMO/teardown.log" 2>&1 || { echo "     lab-down failed (see $DEMO/teardown.log)"; rc=1; }
            echo "     lab stopped"
        fi
    fi
    printf '\nmake demo: %s after %ss\n' "$([ "$rc" = 0 ] && echo OK || echo "FAILED (exit $rc)")" "$(since "$T0")"
    exit "$rc"
}
trap teardown EXIT
trap 'say "command failed (line $LINENO): $BASH_COMMAND"' ERR
trap 'die "interrupted"' INT TERM

# ---- the guest's disk ----------------------------------------------------------------------------
# build_disk FILE: a raw disk image with an MBR (syslinux's mbr.bin), one bootable FAT16
# partition holding syslinux (ldlinux.sys), syslinux.cfg, the lab guest's kernel and its
# initramfs; the guest's init also prints its uptime every second once READY, so the console
# shows whether it kept running across a migration. No loop device or mount is needed.
build_disk() {
    local out=$1 w=$DEMO/disk G=$LAB_CACHE/guest
    rm -rf "$w"
    mkdir -p "$w/initrd"
    (cd "$w/initrd" && gzip -dc "$G/initrd.img" | cpio -i --quiet -d) || die "cannot unpack $G/initrd.img"
    local idle='while :; do sleep 3600; done'
    grep -qxF "$idle" "$w/initrd/init" || die "the lab guest's init has no idle loop to replace (guest.sh changed?)"
    sed -i "s|^${idle}\$|while :; do sleep 1; read -r up _ </proc/uptime; echo \"kvmha-guest: alive, uptime \${up}s\"; done|" "$w/initrd/init"
    (cd "$w/initrd" && find . | cpio -o -H newc --quiet -R 0:0 | gzip -6) >"$w/initrd.img"
    cat >"$w/syslinux.cfg" <<'EOF'
SERIAL 0 115200
DEFAULT guest
PROMPT 0
TIMEOUT 0
LABEL guest
  KERNEL vmlinuz
  INITRD initrd.img
  APPEND console=ttyS0 panic=-1 quiet kvmha_rbd_check=1
EOF
    local mib=$((($(stat -c %s "$G/vmlinuz") + $(stat -c %s "$w/initrd.img")) / 1048576 + 16))
    truncate -s "${mib}M" "$w/part.img"
    mkfs.vfat -F 16 -h 2048 -n KVMHADEMO "$w/part.img" >/dev/null
    mcopy -i "$w/part.img" "$G/vmlinuz" "$w/initrd.img" "$w/syslinux.cfg" ::
    syslinux --install "$w/part.img"
    rm -f "$out"
    truncate -s "$((mib + 1))M" "$out"
    echo 'start=2048, type=e, bootable' | sfdisk -q "$out"
    dd if="$w/part.img" of="$out" bs=1M seek=1 conv=notrunc status=none
    dd if=/usr/lib/syslinux/mbr/mbr.bin of="$out" bs=440 count=1 conv=notrunc status=none
    rm -rf "$w"
}

# ===================================================================================================
printf '%skvmha demo: ocf:kvmha:VirtualDomain on a 3-node Pacemaker cluster, guest disk on Ceph RBD%s\n' "$B" "$N"
[ "$(id -u)" = 0 ] || die "run as root (the lab makes namespaces and starts daemons)"
if [ -e /run/netns/kvmha-hub ]; then
    die "a 3-node lab is already running on this machine (netns kvmha-hub); stop it first (test/lab/nodes.sh down with its LAB_STATE, or make lab-down)"
fi

step "Install packages (test/lab/deps)"
mkdir -p "$DEMO"
say "test/lab/deps (minutes on a fresh machine; output in $DEMO/deps.log)"
"$LAB_DIR/deps" >"$DEMO/deps.log" 2>&1 || { tail -20 "$DEMO/deps.log" | show; die "test/lab/deps failed"; }
say "packages ok"

step "Build and install ocf:kvmha:VirtualDomain and fence_rbd"
quiet make -s -C "$LAB_ROOT" virtualdomain
quiet go -C "$LAB_ROOT" build -tags pacific -trimpath -o build/fence_rbd ./cmd/fence_rbd
install -D -m 0755 "$LAB_ROOT/build/VirtualDomain" "$OCF_AGENT"
install -D -m 0755 "$LAB_ROOT/build/fence_rbd" /usr/sbin/fence_rbd
say "$OCF_AGENT ($(($(stat -c %s "$OCF_AGENT") / 1048576)) MiB, one file)" "/usr/sbin/fence_rbd"

step "Bring up the lab: 3 nodes (corosync + Pacemaker + libvirtd each), Ceph at 10.77.0.250"
quiet "$LAB_DIR/guest.sh" build
started_lab=1
t=$EPOCHREALTIME
"$NODES" up 3 >"$DEMO/nodes-up.log" 2>&1 || { tail -20 "$DEMO/nodes-up.log" | show; die "nodes.sh up failed"; }
took[lab]=$(since "$t")
set -a
# shellcheck source=/dev/null # the lab's env file, written by nodes.sh up
. "$LAB_STATE/env"
set +a
if [ -z "${NODES_CEPH_CONF:-}" ] || [ -z "${NODES_CEPH_KEYRING:-}" ]; then die "no NODES_CEPH_* lines in $LAB_STATE/env"; fi
say "up in ${took[lab]}s"
on 1 crm_mon -1 --exclude=all --include=nodes | grep -i online | show

step "Write a bootable guest disk into RBD image $NODES_CEPH_POOL/$IMAGE"
build_disk "$DEMO/guest-disk.img"
DISK_BYTES=$(stat -c %s "$DEMO/guest-disk.img")
DISK_MD5=$(head -c 4096 "$DEMO/guest-disk.img" | md5sum | cut -d' ' -f1)
quiet hub qemu-img convert -f raw -O raw "$DEMO/guest-disk.img" \
    "rbd:$NODES_CEPH_POOL/$IMAGE:id=$NODES_CEPH_USER:conf=$NODES_CEPH_CONF:keyring=$NODES_CEPH_KEYRING"
(cd "$DEMO" && sfdisk -l guest-disk.img) | sed -n '/^Device/,$p' | show
mdir -b -i "$DEMO/guest-disk.img@@1M" :: | sed 's|^::/||' | paste -sd ' ' | sed 's/^/partition 1 (FAT16): /' | show
hub rbd -c "$NODES_CEPH_CONF" --id "$NODES_CEPH_USER" --keyring "$NODES_CEPH_KEYRING" info "$NODES_CEPH_POOL/$IMAGE" |
    sed -n 's/^\t*//; /^rbd image\|size/p' | show
rm -f "$DEMO/guest-disk.img"
say "the domain has no <kernel>: SeaBIOS boots the MBR of its RBD disk, syslinux loads the kernel from it"

step "Fencing: fence_rbd (Ceph blocklist) + fence_lab (power) in one level per node"
caps='allow r, allow command "osd blocklist", allow command "config-key get" with key prefix kvmha/fence_rbd/, allow command "config-key set" with key prefix kvmha/fence_rbd/, allow command "config-key rm" with key prefix kvmha/fence_rbd/'
FENCE_KEYRING=$DEMO/ceph.client.fence.keyring
quiet ceph_admin auth get-or-create client.fence mon "$caps" osd "profile rbd-read-only pool=$NODES_CEPH_POOL" -o "$FENCE_KEYRING"
chmod 0600 "$FENCE_KEYRING"
quiet on 1 pcs stonith create rbd-fence fence_rbd \
    hosts="node1=10.77.0.1;node2=10.77.0.2;node3=10.77.0.3" pcmk_host_list="node1 node2 node3" \
    ceph_conf="$NODES_CEPH_CONF" ceph_user=fence ceph_keyring="$FENCE_KEYRING" pools="$NODES_CEPH_POOL" \
    meta provides=unfencing
for i in 1 2 3; do quiet on 1 pcs stonith level add 1 "node$i" rbd-fence lab-fence; done
on 1 pcs stonith level config | show
# A fenced node stays off (and blocklisted) until someone powers it on; when it rejoins,
# Pacemaker unfences it first (fence_rbd "on", provides=unfencing). With the default "reboot",
# a level of two devices becomes off+on for both, so the node would come straight back.
quiet on 1 pcs property set stonith-action=off
say "pcs property set stonith-action=off"
rbd_fence_started() { on 1 crm_mon -1 --output-as=xml | grep -q '<resource id="rbd-fence" [^>]*role="Started"'; }
wait_for 60 "rbd-fence started" rbd_fence_started

step "pcs resource create $VM ocf:kvmha:VirtualDomain"
SECRET=$(cat /proc/sys/kernel/random/uuid)
"$LAB_DIR/guest.sh" domain "$DOMAIN" --rbd "$NODES_CEPH_POOL/$IMAGE" --ceph-conf "$NODES_CEPH_CONF" \
    --ceph-user "$NODES_CEPH_USER" --secret-uuid "$SECRET" >"$DEMO/$DOMAIN.xml.tmp" || die "guest.sh domain failed"
# Boot from the disk: drop guest.sh's direct kernel boot.
sed -e '/<kernel>\|<initrd>\|<cmdline>/d' -e "s|\(<type arch=.*</type>\)|\1\n    <boot dev='hd'/>|" \
    "$DEMO/$DOMAIN.xml.tmp" >"$DEMO/$DOMAIN.xml"
rm -f "$DEMO/$DOMAIN.xml.tmp"
if ! grep -q "<boot dev='hd'/>" "$DEMO/$DOMAIN.xml" || grep -q '<kernel>' "$DEMO/$DOMAIN.xml"; then
    die "could not make the domain XML boot from its disk"
fi
# resource-stickiness: a guest stays where it runs (pcs resource move checks it will not move back).
cmd=(pcs resource create "$VM" ocf:kvmha:VirtualDomain config="$DEMO/$DOMAIN.xml" hypervisor=qemu:///system
    migration_transport=tcp ceph_conf="$NODES_CEPH_CONF" ceph_user="$NODES_CEPH_USER" ceph_keyring="$NODES_CEPH_KEYRING"
    meta allow-migrate=true resource-stickiness=100 op monitor interval=10s)
say "${cmd[*]}"
t=$EPOCHREALTIME
quiet on 1 "${cmd[@]}"
wait_for 120 "$VM Started" runs_somewhere 1
FIRST=$(where_runs 1)
took[start]=$(since "$t")
wait_for 60 "the guest on $FIRST READY (booted from its RBD disk)" guest_ready
took[ready]=$(since "$t")
on 1 crm_mon -1 --exclude=all --include=nodes,resources | show
say "guest console ($CONSOLE):"
console | grep -m1 -a 'SYSLINUX' | show
console | grep -a '^kvmha-guest: up\|^DISK:\|READY' | show
say "disk as the guest sees it: $DISK_BYTES bytes, md5 of its first 4 KiB = that of the image written (MBR + partition table)"

step "Live migration: pcs resource move $VM"
TARGET=node2
[ "$FIRST" != node2 ] || TARGET=node3
wait_for 20 "the guest's console counting" uptime_past 4
say "guest console on $FIRST:"
console | grep -a 'alive' | tail -2 | show
before=$(guest_uptime)
say "pcs resource move $VM $TARGET"
t=$EPOCHREALTIME
quiet on 1 timeout 120 pcs resource move "$VM" "$TARGET"
wait_for 90 "$VM running on $TARGET" runs_on 1 "$TARGET"
took[migrate]=$(since "$t")
qemu_incoming || die "the qemu on $TARGET was not started for an incoming migration: not a live migration"
took[migrate_to]=$(on 1 cibadmin --query --scope status 2>/dev/null |
    xmllint --xpath "string(//lrm_resource[@id='$VM']/lrm_rsc_op[@operation='migrate_to']/@exec-time)" - 2>/dev/null) || true
[ -z "${took[migrate_to]}" ] || took[migrate_to]=$(awk -v ms="${took[migrate_to]}" 'BEGIN{printf "%.1f", ms/1000}')
on 1 timeout 30 pcs resource clear "$VM" >/dev/null 2>&1 || true
wait_for 20 "the guest's console counting on $TARGET" uptime_past "$before"
sleep 2
on 1 crm_mon -1 --exclude=all --include=resources | grep -a "$VM" | show
say "qemu on $TARGET was started with -incoming (live migration, migrate_to/migrate_from)"
say "guest console on $TARGET:"
console | grep -a 'alive' | tail -3 | show
say "uptime $before s before -> $(guest_uptime) s after: the same guest kept running, no reboot"

step "Kill $TARGET (nodes.sh kill: all its processes, the guest's qemu included, die at once)"
VICTIM=${TARGET#node}
OBS=1
[ "$VICTIM" != 1 ] || OBS=2
t=$EPOCHREALTIME
quiet "$NODES" kill "$VICTIM"
say "$TARGET killed; watching from node$OBS"
wait_for 90 "$TARGET fenced" fenced "$OBS" "$TARGET"
took[fenced]=$(since "$t")
wait_for 180 "$VM running on a node other than $TARGET" runs_elsewhere "$OBS" "$TARGET"
took[failover]=$(since "$t")
NOW=$(where_runs "$OBS")
wait_for 60 "the guest READY on $NOW" guest_ready
took[failready]=$(since "$t")
say "stonith_admin --history $TARGET --verbose:"
on "$OBS" timeout 10 stonith_admin --history "$TARGET" --verbose | show
say "Ceph OSD blocklist (fence_rbd):"
blocklist=$(ceph_admin osd blocklist ls 2>/dev/null) || die "ceph osd blocklist ls failed"
printf '%s\n' "$blocklist" | show
grep -q "^10.77.0.$VICTIM:0/0 " <<<"$blocklist" || die "$TARGET (10.77.0.$VICTIM) is not in the Ceph blocklist"
say "power switch: $TARGET is $(cat "${LAB_SWITCH_DIR:-/var/lib/kvmha-lab/switch}/power/$TARGET" 2>/dev/null || echo '?')"
on "$OBS" crm_mon -1 --exclude=all --include=nodes,resources | show
say "guest console on $NOW (a fresh boot from the RBD disk):"
console | grep -m1 -a 'SYSLINUX' | show
console | grep -a '^DISK:\|READY' | show

step "Summary"
printf '     %-52s %8s\n' "what" "seconds"
printf '     %-52s %8s\n' "----" "-------"
row() { printf '     %-52s %8s\n' "$1" "$2"; }
row "lab up (3 nodes, libvirtd, Ceph; nodes.sh up)" "${took[lab]}"
row "start: pcs resource create -> Started on $FIRST" "${took[start]}"
row "start: pcs resource create -> guest READY" "${took[ready]}"
row "live migration: pcs resource move -> Started on $TARGET" "${took[migrate]}"
row "  of which the migrate_to action (live migration)" "${took[migrate_to]:-?}"
row "kill $TARGET -> fenced (blocklisted + powered off)" "${took[fenced]}"
row "kill $TARGET -> Started on $NOW" "${took[failover]}"
row "kill $TARGET -> guest READY on $NOW" "${took[failready]}"
row "total so far (install, build, lab, demo)" "$(since "$T0")"
