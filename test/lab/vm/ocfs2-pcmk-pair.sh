#!/bin/sh
# ocfs2-pcmk-pair.sh: runs in both VMs of `test/lab/vm.sh pair` (image with pacemaker, corosync,
# pacemaker-cli-utils, psmisc and fdisk added: see TestO2CBPairUnderPacemaker) and puts OCFS2 on
# the shared disk under a real two-node Pacemaker: corosync (knet over eth1, crypto on, two_node)
# and pacemakerd are started by hand, as test/lab/cluster.sh does on the host. POSIX sh.
#
#   shared disk: partition 1 (8 MiB) is the heartbeat device (`kvmha heartbeat format`), 2 OCFS2
#   resources:   hb-clone    ocf:kvmha:HostHeartbeat backends=block:///dev/vdX1, softdog
#                o2cb-clone  ocf:kvmha:o2cb nodes_from=corosync manage_cluster_conf=true
#                fs-clone    ocf:heartbeat:Filesystem fstype=ocfs2 on /dev/vdX2 (mkfs.ocfs2 once),
#                            ordered after and colocated with o2cb-clone
#                fence       stonith:fence_kvmha, the same backend; stonith-enabled=true
#
# Then $VICTIM (default node2) dies at once (sysrq b: no sync, no goodbye, as a power cut) after
# asking vm.sh to boot it again. The survivor goes on writing to the volume, times kill -> fence
# confirmed (stonith history) and kill -> the first write begun after the kill done, checks its
# mount and files, and lets the victim come back once O2CB evicted it. The victim's second boot
# rejoins (corosync, Pacemaker, the three clones Started, the volume mounted) and reads and writes
# the files. Both then stop every resource, Pacemaker and corosync, and print PASS.
#
# Each measure is one line "TIMING NAME SECONDSs" (the Go test parses them):
#   cluster-up        start of corosync -> both nodes online with a DC (each node)
#   resources-started creation of the resources -> every clone Started on both (node1)
#   fence             kill -> the victim's fencing confirmed in the survivor's stonith history
#   write-ok          kill -> the first write round begun after the kill has completed
#   evicted           kill -> the survivor's O2CB evicted the victim (kernel log)
#   rejoin-boot       the victim's second boot: kernel start -> its script may rejoin
#   rejoin-online     rejoin start (corosync) -> the victim online in Pacemaker again
#   rejoin-started    rejoin start -> hb, o2cb and fs Started on the victim, the volume mounted
#
# Timeouts (TCG guests at nice 19 on a busy 2-core host, where a guest can stall for tens of
# seconds; written down in test/lab/README.md): corosync token 20 s (consensus 24 s);
# HostHeartbeat interval 3 s, timeout 60 s, softdog 60 s (fence_kvmha margin 5 s: a dead host
# is proven fenced 125 s after its last beat); stonith-timeout 300 s; operations: start/stop
# 120 s (the file system's 300 s: an OCFS2 umount took 85 s to over 120 s, and a failed stop is
# a fencing), monitors every 20 s with 120 s timeouts; O2CB's own timeouts are the agent's defaults (dead threshold 31:
# 60 s; idle 30 s) unless O2CB_PARAMS says others.
#
# Environment (set by vm.sh pair): VM_NAME, VM_PEER, VM_IP, VM_PEER_IP, VM_XCHG. KVMHA_BIN: the
# folder with the o2cb, HostHeartbeat, fence_kvmha and kvmha binaries built on the host.
# VICTIM (node2), O2CB_PARAMS (more o2cb parameters, NAME=VALUE words), SHARED_DISK (the
# first extra disk).
set -u
me=$VM_NAME peer=$VM_PEER
bin=${KVMHA_BIN:?KVMHA_BIN: folder of the agent binaries}
victim=${VICTIM:-node2}
survivor=node1
[ "$victim" = node1 ] && survivor=node2
disk=$(readlink -f "${SHARED_DISK:-/dev/disk/by-id/virtio-disk1}")
hbdev=${disk}1 dev=${disk}2
mnt=/srv/ocfs2
flags=$VM_XCHG/pcmk
boot=$(cat "$VM_XCHG/$me.boot" 2>/dev/null || echo 1)
mkdir -p "$flags" "$mnt"

VM_TAG=ocfs2-pcmk VM_DMESG='ocfs2|o2net|o2hb|o2dlm|o2quo|dlm|softdog|watchdog'
. "$(dirname "$0")/pair-lib.sh"

# Pacemaker's and corosync's logs stay in the VM (on 9p every line would cost a round trip to
# the host); a failure copies them to $VM_XCHG/logs, which vm.sh keeps with a failed run.
PCMK_LOG=/tmp/pacemaker.log COROSYNC_LOG=/tmp/corosync.log
save_logs() {
    mkdir -p "$VM_XCHG/logs"
    for f in "$PCMK_LOG" "$COROSYNC_LOG" /run/kvmha/heartbeat.log; do
        [ ! -e "$f" ] || cp "$f" "$VM_XCHG/logs/$me-$boot-${f##*/}"
    done
}
# On a failure: what Pacemaker and corosync said last, then the FAIL line's steps.
on_fail() {
    touch "$flags/$me.failed"
    save_logs
    crm_mon -1 -r 2>&1 | sed 's/^/  crm_mon: /'
    tail -n 40 "$PCMK_LOG" 2>/dev/null | grep -vE ' (debug|trace):' | sed 's/^/  pacemaker: /'
    tail -n 10 "$COROSYNC_LOG" 2>/dev/null | sed 's/^/  corosync: /'
    tail -n 10 /run/kvmha/heartbeat.log 2>/dev/null | sed 's/^/  heartbeat: /'
}
# timing NAME SINCE: the TIMING line of NAME, from uptime SINCE to now
timing() { log "TIMING $1 $(since "$2")s"; }

# until_true SECONDS WHAT CMD...: run CMD every UT_POLL (4) seconds until it succeeds; fail
# after SECONDS. (crm_mon and xmllint cost a good part of a second under TCG: polling faster
# would slow the cluster it watches, whose pacemakerd kills a subdaemon that has not answered
# its IPC check 5 times in a row.)
until_true() {
    ut_end=$(($(date +%s) + $1)) ut_what=$2
    shift 2
    until "$@"; do
        [ "$(date +%s)" -lt "$ut_end" ] || fail "timed out waiting for $ut_what"
        [ ! -e "$flags/$peer.failed" ] || fail "$peer failed"
        sleep "${UT_POLL:-4}"
    done
}

# ---------------------------------------------------------------- the cluster

# the agents, as make install lays them out
install_agents() {
    for f in o2cb HostHeartbeat fence_kvmha kvmha; do
        [ -x "$bin/$f" ] || fail "no $bin/$f"
    done
    install -D -m 0755 "$bin/o2cb" /usr/lib/ocf/resource.d/kvmha/o2cb
    install -D -m 0755 "$bin/HostHeartbeat" /usr/lib/ocf/resource.d/kvmha/HostHeartbeat
    install -m 0755 "$bin/fence_kvmha" "$bin/kvmha" /usr/sbin/
    modprobe softdog || fail "modprobe softdog"
    [ -c /dev/watchdog ] || fail "no /dev/watchdog after modprobe softdog"
}

corosync_up() {
    install -d -m 0700 /etc/corosync /var/log/corosync
    if [ "$me" = node1 ] && [ ! -e "$flags/authkey" ]; then
        corosync-keygen -k "$flags/authkey.tmp" >/dev/null 2>&1 || fail "corosync-keygen"
        mv "$flags/authkey.tmp" "$flags/authkey"
    fi
    [ "$me" = node1 ] || wait_for authkey 120
    install -m 0400 "$flags/authkey" /etc/corosync/authkey
    cat >/etc/corosync/corosync.conf <<EOF
totem {
    version: 2
    cluster_name: lab
    transport: knet
    crypto_cipher: aes256
    crypto_hash: sha256
    token: 20000
}
nodelist {
    node {
        ring0_addr: 192.168.77.1
        name: node1
        nodeid: 1
    }
    node {
        ring0_addr: 192.168.77.2
        name: node2
        nodeid: 2
    }
}
quorum {
    provider: corosync_votequorum
    two_node: 1
}
logging {
    to_syslog: no
    to_stderr: no
    to_logfile: yes
    logfile: $COROSYNC_LOG
    timestamp: on
}
EOF
    setsid corosync -f </dev/null >/var/log/corosync/corosync.out 2>&1 &
    echo $! >/run/lab-corosync.pid # corosync keeps a /run/corosync.pid of its own
    until_true 180 "corosync quorate" quorate
}
quorate() { corosync-quorumtool -s 2>/dev/null | grep -q 'Quorate: *Yes'; }

# pacemaker_up: a fresh CIB holding the cluster options only (both nodes seed the same one;
# a node that comes back takes the DC's), then pacemakerd.
pacemaker_up() {
    install -d -o hacluster -g haclient -m 0770 /var/log/pacemaker
    : >"$PCMK_LOG" && chown hacluster:haclient "$PCMK_LOG" && chmod 0660 "$PCMK_LOG"
    install -d -o hacluster -g haclient -m 0750 /var/lib/pacemaker/cib /var/lib/pacemaker/pengine \
        /var/lib/pacemaker/blackbox /var/lib/pacemaker/cores
    rm -f /var/lib/pacemaker/cib/* /var/lib/pacemaker/pengine/*
    cat >/var/lib/pacemaker/cib/cib.xml <<EOF
<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-dc-deadtime" name="dc-deadtime" value="5s"/>
        <nvpair id="opt-stonith-enabled" name="stonith-enabled" value="true"/>
        <nvpair id="opt-stonith-timeout" name="stonith-timeout" value="300s"/>
        <nvpair id="opt-no-quorum-policy" name="no-quorum-policy" value="freeze"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources/>
    <constraints/>
  </configuration>
  <status/>
</cib>
EOF
    chown hacluster:haclient /var/lib/pacemaker/cib/cib.xml
    chmod 0600 /var/lib/pacemaker/cib/cib.xml
    PCMK_logfile=$PCMK_LOG PCMK_logfacility=none setsid pacemakerd </dev/null >/var/log/pacemaker/pacemakerd.out 2>&1 &
    echo $! >/run/lab-pacemakerd.pid
}

# crm_mon's XML, and XPath counts in it
mon() { crm_mon -1 --output-as=xml >/tmp/mon.xml 2>/dev/null; }
count() { xmllint --xpath "count($1)" /tmp/mon.xml 2>/dev/null; }
online() { # online NODE...: every NODE online, and a DC
    mon || return 1
    [ "$(count "/pacemaker-result/summary/current_dc[@present='true']")" = 1 ] || return 1
    for n in "$@"; do
        [ "$(count "/pacemaker-result/nodes/node[@name='$n'][@online='true']")" = 1 ] || return 1
    done
}
# started_on NODE CLONE...: each CLONE has an instance Started on NODE
started_on() {
    so_node=$1
    shift
    for c in "$@"; do
        [ "$(count "/pacemaker-result/resources/clone[@id='$c']/resource[@role='Started']/node[@name='$so_node']")" = 1 ] || return 1
    done
}
all_started() { # all_started NODE...: hb, o2cb, fs Started on every NODE (crm_mon already run)
    for n in "$@"; do started_on "$n" hb-clone o2cb-clone fs-clone || return 1; done
}
fresh_all_started() { grep -q " $mnt ocfs2 " /proc/mounts && mon && all_started "$@"; }
fs_stopped() { mon && [ "$(count "/pacemaker-result/resources/clone[@id='fs-clone']/resource[@active='true']")" = 0 ]; }
base_started() { mon && started_on node1 hb-clone o2cb-clone && started_on node2 hb-clone o2cb-clone; }
none_active() { mon && [ "$(count "/pacemaker-result/resources//resource[@active='true']")" = 0 ]; }
# fenced_ok NODE: the stonith history has a successful fencing of NODE
fenced_ok() {
    stonith_admin --history "$1" --output-as=xml >/tmp/fh.xml 2>/dev/null &&
        [ "$(xmllint --xpath "count(//fence_event[@target='$1'][@status='success'])" /tmp/fh.xml 2>/dev/null)" -ge 1 ]
}

# fence_events NODE: how many fencing actions against NODE the history holds
fence_events() {
    stonith_admin --history "$1" --output-as=xml >/tmp/fh.xml 2>/dev/null
    xmllint --xpath "count(//fence_event[@target='$1'])" /tmp/fh.xml 2>/dev/null
}

# nv ID NAME=VALUE...: an instance_attributes block
nv() {
    printf '<instance_attributes id="%s-params">' "$1"
    nv_id=$1
    shift
    for kv in "$@"; do printf '<nvpair id="%s-%s" name="%s" value="%s"/>' "$nv_id" "${kv%%=*}" "${kv%%=*}" "${kv#*=}"; done
    printf '</instance_attributes>'
}
# ops ID START_STOP_TIMEOUT MONITOR_INTERVAL MONITOR_TIMEOUT
ops() {
    printf '<operations><op id="%s-start" name="start" interval="0s" timeout="%s"/>' "$1" "$2"
    printf '<op id="%s-stop" name="stop" interval="0s" timeout="%s"/>' "$1" "$2"
    printf '<op id="%s-monitor" name="monitor" interval="%s" timeout="%s"/></operations>' "$1" "$3" "$4"
}
# clone ID PRIMITIVE_XML
clone() {
    printf '<clone id="%s-clone"><meta_attributes id="%s-clone-meta"><nvpair id="%s-clone-interleave" name="interleave" value="true"/></meta_attributes>%s</clone>' \
        "$1" "$1" "$1" "$2"
}
cib_add() { # cib_add SCOPE XML
    cibadmin --create --scope "$1" --xml-text "$2" || fail "cibadmin --create --scope $1: $2"
}

# the first step of the configuration: fencing, the heartbeat and O2CB
configure_base() {
    backend=block://$hbdev
    cib_add resources "$(clone hb "<primitive id=\"hb\" class=\"ocf\" provider=\"kvmha\" type=\"HostHeartbeat\">$(nv hb \
        backends="$backend" interval=3 timeout=60 watchdog_device=/dev/watchdog watchdog_timeout=60 \
        libvirt_uri=none)$(ops hb 120s 20s 120s)</primitive>")"
    # shellcheck disable=SC2086 # O2CB_PARAMS: NAME=VALUE words
    cib_add resources "$(clone o2cb "<primitive id=\"o2cb\" class=\"ocf\" provider=\"kvmha\" type=\"o2cb\">$(nv o2cb \
        cluster=lab nodes_from=corosync manage_cluster_conf=true ${O2CB_PARAMS:-})$(ops o2cb 120s 20s 120s)</primitive>")"
    cib_add resources "<primitive id=\"fence\" class=\"stonith\" type=\"fence_kvmha\">$(nv fence \
        backends="$backend" margin=5 pcmk_host_list="node1 node2")<operations><op id=\"fence-monitor\" name=\"monitor\" interval=\"60s\" timeout=\"60s\"/></operations></primitive>"
}
# the second: the file system (after mkfs.ocfs2), after and with O2CB
configure_fs() {
    cib_add resources "$(clone fs "<primitive id=\"fs\" class=\"ocf\" provider=\"heartbeat\" type=\"Filesystem\">$(nv fs \
        device="$dev" directory="$mnt" fstype=ocfs2)$(ops fs 300s 20s 120s)</primitive>")"
    cib_add constraints '<rsc_order id="fs-after-o2cb" first="o2cb-clone" then="fs-clone" kind="Mandatory"/>'
    cib_add constraints '<rsc_colocation id="fs-with-o2cb" rsc="fs-clone" with-rsc="o2cb-clone" score="INFINITY"/>'
}

# agent_notes: what the agents had to say during the run - the failed actions Pacemaker keeps,
# the warnings and errors of the agents (counted, pids dropped) and of the heartbeat daemon.
agent_notes() {
    crm_mon -1 -r 2>/dev/null | sed -n '/Failed Resource Actions/,$p' | sed 's/^/  failed: /'
    grep -E 'log_op_output.*(WARN|ERROR|ocf-exit-reason)' "$PCMK_LOG" |
        sed 's/^.*log_op_output) *//; s/\[[0-9]*\]//g' | sort | uniq -c | sort -rn | head -n 12 | sed 's/^/  agents: /'
    grep -E 'WARN|ERROR' /run/kvmha/heartbeat.log 2>/dev/null | cut -c25- | sort | uniq -c | sort -rn | head -n 8 |
        sed 's/^/  heartbeat: /'
}

# cluster_down yes|no: every resource stopped (yes: this node tells Pacemaker to: the file
# system on both nodes first, so that no node leaves O2CB while the other has the volume
# mounted), then Pacemaker and corosync.
cluster_down() {
    if [ "$1" = yes ]; then
        crm_resource --resource fs-clone --meta --set-parameter target-role --parameter-value Stopped ||
            fail "fs-clone target-role=Stopped"
        until_true 600 "the file system stopped on both" fs_stopped
        crm_attribute --type crm_config --name stop-all-resources --update true || fail "stop-all-resources"
    fi
    until_true 600 "every resource stopped" none_active
    raise "stopped-resources.$boot"
    wait_for "$peer.stopped-resources.$boot_peer" 300
    kill "$(cat /run/lab-pacemakerd.pid)" 2>/dev/null
    until_true 180 "pacemakerd to stop" pacemakerd_gone
    raise "pacemaker-down"
    wait_for "$peer.pacemaker-down" 300
    kill "$(cat /run/lab-corosync.pid)" 2>/dev/null
    until_true 60 "corosync to stop" corosync_gone
    pgrep -f 'heartbeat run' >/dev/null && fail "the heartbeat daemon outlived its stop"
    log "stopped: resources, Pacemaker, corosync"
}
pacemakerd_gone() { ! kill -0 "$(cat /run/lab-pacemakerd.pid)" 2>/dev/null; }
corosync_gone() { ! kill -0 "$(cat /run/lab-corosync.pid)" 2>/dev/null; }

# ---------------------------------------------------------------- the survivor's writes

# writer: a round every 0.5 s until /tmp/writer.stop: a new file (new lock resources: their
# mastery asks every node, a dead one too), an append, an fsync of both. /tmp/writer.log gets
# "ROUND START END" (uptime), or "ROUND START FAIL".
writer() {
    i=0
    while [ ! -e /tmp/writer.stop ]; do
        i=$((i + 1))
        t1=$(now)
        if echo "$i $t1" >"$mnt/during.$me.$i" && echo "$i" >>"$mnt/during.$me.log" &&
            sync "$mnt/during.$me.$i" "$mnt/during.$me.log"; then
            echo "$i $t1 $(now)" >>/tmp/writer.log
        else
            echo "$i $t1 FAIL" >>/tmp/writer.log
        fi
        sleep 0.5
    done
}
# write_ok_after T: the end of the first round begun after uptime T, if one completed
write_ok_after() { awk -v t="$1" '$2 >= t && $3 != "FAIL" { print $3; exit }' /tmp/writer.log; }

# ---------------------------------------------------------------- boot 1

first_boot() {
    wait_peer_link
    if [ "$me" = node1 ]; then
        printf ',8M\n,\n' | sfdisk -q "$disk" >/dev/null || fail "sfdisk $disk"
        kvmha heartbeat format --slots 4 "block://$hbdev" || fail "kvmha heartbeat format"
        raise parted
    else
        wait_for node1.parted 120
        blockdev --rereadpt "$disk" || fail "blockdev --rereadpt $disk"
        until_true 10 "$hbdev and $dev" test -b "$dev"
    fi
    { [ -b "$hbdev" ] && [ -b "$dev" ]; } || fail "no partitions $hbdev, $dev"

    t0=$(now)
    corosync_up
    pacemaker_up
    until_true 600 "both nodes online with a DC" online node1 node2
    timing cluster-up "$t0"
    log "cluster up: $(xmllint --xpath 'string(/pacemaker-result/summary/current_dc/@name)' /tmp/mon.xml) is DC"
    raise online
    wait_for "$peer.online" 300

    if [ "$me" = node1 ]; then
        t0=$(now)
        configure_base
        until_true 600 "hb and o2cb Started on both" base_started
        mkfs.ocfs2 -q -F -b 4K -C 4K -N 2 -L pcmk --cluster-stack=o2cb --cluster-name=lab "$dev" >/tmp/mkfs.out 2>&1 ||
            fail "mkfs.ocfs2: $(cat /tmp/mkfs.out)"
        configure_fs
        until_true 600 "every clone Started on both" fresh_all_started node1 node2
        timing resources-started "$t0"
        raise configured
    else
        wait_for node1.configured 1200
        until_true 120 "every clone Started on both" fresh_all_started node1 node2
    fi
    log "resources: $(crm_mon -1 -r 2>/dev/null | grep -E 'Started|Stopped|FAILED' | tr -s ' ' | tr '\n' ';')"
    ocfs2_exchange # each writes $me.txt and reads the peer's

    raise ready
    wait_for "$peer.ready" 300
    if [ "$me" = "$victim" ]; then
        touch "$VM_XCHG/$me.reboot" # vm.sh: boot this VM again once it died
        save_logs
        raise dying
        log "dying now (sysrq b)"
        sleep 0.3 # let the line out
        echo 1 >/proc/sys/kernel/sysrq
        echo b >/proc/sysrq-trigger
        sleep 60
        fail "still alive after sysrq b"
    fi
    survive
}

# survive: the survivor's side of the kill
survive() {
    rm -f /tmp/writer.stop /tmp/writer.log
    writer &
    wpid=$!
    wait_for "$victim.dying" 120
    tk=$(now)
    log "$victim killed at ${tk}s (uptime of $me)"
    tf='' tw='' ev=''
    end=$(($(date +%s) + 600))
    while [ -z "$tf" ] || [ -z "$tw" ] || [ -z "$ev" ]; do
        [ "$(date +%s)" -lt "$end" ] || fail "after 600 s: fence '${tf}', write '${tw}', evicted '${ev}'"
        [ -n "$tf" ] || { fenced_ok "$victim" && tf=$(now) && log "TIMING fence $(after "$tf")s"; }
        [ -n "$tw" ] || { tw=$(write_ok_after "$tk") && [ -n "$tw" ] && log "TIMING write-ok $(after "$tw")s"; }
        [ -n "$ev" ] || { ev=$(evicted) && [ -n "$ev" ] && log "TIMING evicted $(after "$ev")s"; }
        grep -q FAIL /tmp/writer.log 2>/dev/null && fail "a write failed on the survivor: $(grep FAIL /tmp/writer.log | head -n 3)"
        sleep 1
    done
    # a write begun after both the fence and the eviction completes, too
    t1=$(now)
    until_true 120 "a write after the fence" sh -c "awk -v t=$t1 '\$2 >= t && \$3 != \"FAIL\" { f = 1 } END { exit !f }' /tmp/writer.log"
    touch /tmp/writer.stop
    until_true 60 "the writer to end" sh -c "! kill -0 $wpid 2>/dev/null"
    worst=$(awk -v t="$tk" '$3 != "FAIL" && $3 > t { d = $3 - $2; if (d > w) w = d } END { printf "%.1f", w }' /tmp/writer.log)
    rounds=$(wc -l </tmp/writer.log)
    log "writes: $rounds rounds, none failed, the longest took ${worst}s"
    log "kernel log since the kill:"
    dmesg | awk -v t="$tk" '{ s = $0; sub(/^\[ */, "", s); sub(/\].*/, "", s); if (s + 0 >= t - 1) print }' |
        grep -iE 'ocfs2|o2net|o2hb|o2dlm|dlm|o2quo' | sed 's/^/  dmesg: /'

    grep -q " $mnt ocfs2 " /proc/mounts || fail "the survivor lost its mount"
    [ "$(cat "$mnt/$me.txt")" = "written by $me" ] || fail "$mnt/$me.txt changed"
    [ "$(cat "$mnt/$victim.txt")" = "written by $victim" ] || fail "cannot read $victim's file after its death"
    n=$(wc -l <"$mnt/during.$me.log")
    [ "$n" = "$rounds" ] || fail "during.$me.log has $n lines, $rounds rounds were written"
    { mon && all_started "$me"; } || fail "the survivor's clones are not all Started"
    [ "$(count "/pacemaker-result/nodes/node[@name='$victim'][@online='true']")" = 0 ] || fail "$victim still online"
    log "survivor: mount, files and clones intact; $victim fenced and evicted"
    stonith_admin --history "$victim" 2>/dev/null | sed 's/^/  stonith: /'
    grep -E 'fence_kvmha.*(fence message|fenced \()' "$PCMK_LOG" | sed 's/^.*fence_kvmha/fence_kvmha/; s/^/  fenced: /' | tail -n 4
    fencings=$(fence_events "$victim")
    echo "$rounds" >"$flags/rounds"
    raise recovered

    # the victim comes back
    wait_for "$victim.rejoined" 900
    [ "$(cat "$mnt/$victim.back")" = "$victim is back" ] || fail "cannot read $victim's file written after its return"
    n=$(fence_events "$victim")
    [ "$n" = "$fencings" ] || fail "$victim was fenced again after its return ($n fencing actions, $fencings before)"
    log "reads $victim's file written after its return; no second fencing"
    agent_notes
    boot_peer=2
    cluster_down yes
}
after() { awk -v a="$1" -v b="$tk" 'BEGIN { printf "%.1f", a - b }'; }
# evicted: the uptime of O2CB's "has evicted node" line, if there is one
evicted() { dmesg | awk '/has evicted node/ { s = $0; sub(/^\[ */, "", s); sub(/\].*/, "", s); print s; exit }'; }

# ---------------------------------------------------------------- boot 2 (the victim)

second_boot() {
    wait_for "$survivor.recovered" 900
    timing rejoin-boot 0
    { [ -b "$hbdev" ] && [ -b "$dev" ]; } || fail "no partitions $hbdev, $dev after the reboot"
    wait_peer_link
    t0=$(now)
    corosync_up
    pacemaker_up
    until_true 600 "$me online again" online node1 node2
    timing rejoin-online "$t0"
    until_true 600 "the clones Started on $me" fresh_all_started node1 node2
    timing rejoin-started "$t0"
    [ "$(cat "$mnt/$survivor.txt")" = "written by $survivor" ] || fail "cannot read $survivor.txt"
    [ "$(cat "$mnt/$me.txt")" = "written by $me" ] || fail "cannot read the file this node wrote before it died"
    rounds=$(cat "$flags/rounds")
    n=$(wc -l <"$mnt/during.$survivor.log")
    [ "$n" = "$rounds" ] || fail "during.$survivor.log has $n lines, want $rounds"
    for k in 1 "$rounds"; do [ -s "$mnt/during.$survivor.$k" ] || fail "no during.$survivor.$k"; done
    { echo "$me is back" >"$mnt/$me.back" && sync "$mnt/$me.back"; } || fail "write after the return"
    log "rejoined: reads what $survivor wrote while this node was dead ($rounds rounds), writes"
    agent_notes
    raise rejoined
    boot_peer=1
    cluster_down no
}

# ---------------------------------------------------------------- main

log "$me ($VM_IP) boot $boot, peer $peer; disk $disk; victim $victim"
[ -b "$disk" ] || fail "no shared disk $disk"
install_agents
if [ "$boot" = 1 ]; then
    boot_peer=1
    first_boot
else
    second_boot
fi
save_logs
log PASS
