# shellcheck shell=bash
# pcmk-lib.sh: corosync/pacemaker helpers shared by cluster.sh and nodes.sh (sourced after lib.sh).

# pcmk_corosync_conf CLUSTER_NAME KEYFILE LOGFILE NAME:ADDR:ID...: print a corosync.conf (knet,
# aes256/sha256; token 1 s whatever the node count, so a dead node is noticed in ~2.2 s).
# LOGFILE "-" logs to stderr instead of a file.
pcmk_corosync_conf() {
    local cname=$1 key=$2 log=$3 n name addr id
    shift 3
    cat <<EOF
totem {
    version: 2
    cluster_name: $cname
    transport: knet
    crypto_cipher: aes256
    crypto_hash: sha256
    keyfile: $key
    token: 1000
    token_coefficient: 0
}
nodelist {
EOF
    for n in "$@"; do
        IFS=: read -r name addr id <<<"$n"
        printf '    node {\n        ring0_addr: %s\n        name: %s\n        nodeid: %s\n    }\n' "$addr" "$name" "$id"
    done
    cat <<EOF
}
quorum {
    provider: corosync_votequorum
}
logging {
    to_syslog: no
    timestamp: on
EOF
    if [ "$log" = - ]; then
        printf '    to_logfile: no\n    to_stderr: yes\n}\n'
    else
        printf '    to_logfile: yes\n    logfile: %s\n    to_stderr: no\n}\n' "$log"
    fi
}

# pcmk_seed_state DIR DC_DEADTIME STONITH_ENABLED: make DIR a fresh /var/lib/pacemaker
# (cib, pengine, blackbox, cores: hacluster:haclient 0750) with a seeded cib.xml. The seed
# matters: without dc-deadtime the controller waits 20 s before it elects itself DC.
pcmk_seed_state() {
    local d=$1 deadtime=$2 stonith=$3
    install -d -o hacluster -g haclient -m 0750 "$d"/cib "$d"/pengine "$d"/blackbox "$d"/cores
    rm -f "$d"/cib/* "$d"/pengine/*
    cat >"$d/cib/cib.xml" <<EOF
<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="cib-bootstrap-options-dc-deadtime" name="dc-deadtime" value="$deadtime"/>
        <nvpair id="cib-bootstrap-options-stonith-enabled" name="stonith-enabled" value="$stonith"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources/>
    <constraints/>
  </configuration>
  <status/>
</cib>
EOF
    chown hacluster:haclient "$d/cib/cib.xml"
    chmod 0600 "$d/cib/cib.xml"
}

# pcmk_view_ok NODE...: read `crm_mon -1 --output-as=xml` on stdin; succeed when every NODE
# is online and a DC is present, and print the DC's name.
pcmk_view_ok() {
    local xml n dc
    xml=$(cat)
    dc=$(grep -o '<current_dc present="true"[^>]*' <<<"$xml" | grep -o ' name="[^"]*"' | cut -d'"' -f2) || return 1
    [ -n "$dc" ] || return 1
    for n in "$@"; do
        grep -q "<node name=\"$n\" [^>]*online=\"true\"" <<<"$xml" || return 1
    done
    echo "$dc"
}

# pcmk_rss_kib PID...: total RSS (KiB) of the given pids and all their descendants.
pcmk_rss_kib() {
    local -A seen=()
    local todo=("$@") p c total=0 rss
    while [ ${#todo[@]} -gt 0 ]; do
        p=${todo[0]}; todo=("${todo[@]:1}")
        [ -n "${seen[$p]:-}" ] && continue
        seen[$p]=1
        rss=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null) || true
        total=$((total + ${rss:-0}))
        # shellcheck disable=SC2013 # each file is one line of pids: its words are what is wanted
        for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do todo+=("$c"); done
    done
    echo "$total"
}
