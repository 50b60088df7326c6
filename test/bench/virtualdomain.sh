#!/bin/bash
# virtualdomain.sh: monitor of ocf:kvmha:VirtualDomain against ocf:heartbeat:VirtualDomain on one
# running lab guest (an RBD disk, default parameters), as a recurring monitor does it
# (OCF_RESKEY_CRM_meta_interval=10000). Prints, for each agent, the median wall time and the
# median CPU time (user + system, the agent's children included: every process it waited for),
# the ratios, and the median time of meta-data.
#
#   test/bench/virtualdomain.sh [RUNS]      (default 50 runs per agent, interleaved)
#
# Uses the lab in $LAB_STATE (test/lab/.state) when its env file exists; otherwise starts Ceph,
# a libvirtd and the guest kernel build itself, and stops what it started. Needs root, Go, and
# resource-agents (for the heartbeat agent).
set -euo pipefail
. "$(dirname "$0")/../lab/lib.sh"
C=bench
export LAB_STATE
RUNS=${1:-50}
HEARTBEAT=/usr/lib/ocf/resource.d/heartbeat/VirtualDomain
[ -x "$HEARTBEAT" ] || lab_die $C "$HEARTBEAT is missing (install resource-agents)"

WORK=$(mktemp -d /tmp/kvmha-bench.XXXXXX)
STARTED_LAB=0
NAME=bench-vd-$$
cleanup() {
    set +e
    if [ -n "${AGENT_ENV:-}" ]; then env "${AGENT_ENV[@]}" "$WORK/VirtualDomain" stop >/dev/null 2>&1; fi
    if [ -n "${SECRET:-}" ]; then virsh -q -c "$LIBVIRT_URI" secret-undefine "$SECRET" >/dev/null 2>&1; fi
    if [ -n "${CEPH_CONF:-}" ]; then rbd -c "$CEPH_CONF" --id "$CEPH_USER" --keyring "$CEPH_KEYRING" rm "$CEPH_POOL/$NAME" >/dev/null 2>&1; fi
    if [ "$STARTED_LAB" = 1 ]; then "$LAB_DIR/libvirt.sh" down bench >/dev/null 2>&1; "$LAB_DIR/ceph.sh" down >/dev/null 2>&1; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ -s "$LAB_STATE/env" ]; then
    set -a
    # shellcheck source=/dev/null # the lab's env file, written by lab-up
    . "$LAB_STATE/env"
    set +a
else
    STARTED_LAB=1
    "$LAB_DIR/ceph.sh" up >&2
    "$LAB_DIR/guest.sh" build >&2
    LIBVIRT_URI=$("$LAB_DIR/libvirt.sh" up bench)
    set -a; eval "$("$LAB_DIR/ceph.sh" env)"; set +a
fi

lab_log $C "building the agent"
# As make build builds it: one file, a static layer with its Ceph-linked twin embedded.
make -s -C "$LAB_ROOT" virtualdomain BUILD="$WORK" >&2

rbd -c "$CEPH_CONF" --id "$CEPH_USER" --keyring "$CEPH_KEYRING" create "$CEPH_POOL/$NAME" --size 16M
SECRET=$(cat /proc/sys/kernel/random/uuid)
"$LAB_DIR/guest.sh" domain "$NAME" --rbd "$CEPH_POOL/$NAME" --secret-uuid "$SECRET" --ceph-conf "$CEPH_CONF" >"$WORK/$NAME.xml"
mkdir -p "$WORK/rsctmp"
AGENT_ENV=(OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE="$NAME" HA_RSCTMP="$WORK/rsctmp"
    OCF_RESKEY_config="$WORK/$NAME.xml" OCF_RESKEY_hypervisor="$LIBVIRT_URI"
    OCF_RESKEY_ceph_conf="$CEPH_CONF" OCF_RESKEY_ceph_user="$CEPH_USER" OCF_RESKEY_ceph_keyring="$CEPH_KEYRING"
    OCF_RESKEY_CRM_meta_timeout=90000)
env "${AGENT_ENV[@]}" "$WORK/VirtualDomain" start
lab_log $C "guest $NAME running; $RUNS monitors per agent"

# Both agents get the default parameters only (config, hypervisor) and a recurring monitor.
/usr/bin/python3 - "$RUNS" "$WORK/VirtualDomain" "$HEARTBEAT" "$WORK/$NAME.xml" "$LIBVIRT_URI" "$NAME" "$WORK/rsctmp" <<'PY'
import os, resource, statistics, subprocess, sys, time

runs, kvmha, heartbeat, config, uri, name, rsctmp = sys.argv[1:]
runs = int(runs)
env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT": "/usr/lib/ocf", "HA_RSCTMP": rsctmp,
       "OCF_RESOURCE_INSTANCE": name, "OCF_RESKEY_config": config, "OCF_RESKEY_hypervisor": uri,
       "OCF_RESKEY_CRM_meta_interval": "10000", "OCF_RESKEY_CRM_meta_timeout": "30000"}

def measure(argv, env):
    """Wall and CPU (user+sys of the process and every descendant it waited for) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    rc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return rc, wall * 1000, cpu * 1000

agents = {"ocf:kvmha:VirtualDomain": kvmha, "ocf:heartbeat:VirtualDomain": heartbeat}
results = {a: {"wall": [], "cpu": [], "rcs": set()} for a in agents}
for _ in range(runs):  # interleaved, so both see the same machine load
    for agent, path in agents.items():
        rc, wall, cpu = measure([path, "monitor"], env)
        r = results[agent]
        r["wall"].append(wall); r["cpu"].append(cpu); r["rcs"].add(rc)
meta = {a: statistics.median(measure([p, "meta-data"], {"PATH": env["PATH"], "OCF_ROOT": "/usr/lib/ocf"})[1]
                             for _ in range(runs)) for a, p in agents.items()}

print(f"monitor of one running guest, {runs} runs each (median; CPU includes child processes)")
print(f"{'agent':30} {'exit codes':>10} {'wall ms':>9} {'CPU ms':>8} {'meta-data ms':>13}")
for agent in agents:
    r = results[agent]
    print(f"{agent:30} {','.join(map(str, sorted(r['rcs']))):>10} {statistics.median(r['wall']):9.2f} "
          f"{statistics.median(r['cpu']):8.2f} {meta[agent]:13.2f}")
k, h = results["ocf:kvmha:VirtualDomain"], results["ocf:heartbeat:VirtualDomain"]
print(f"ratio heartbeat/kvmha: wall {statistics.median(h['wall']) / statistics.median(k['wall']):.1f}x, "
      f"CPU {statistics.median(h['cpu']) / max(statistics.median(k['cpu']), 0.001):.1f}x")
if k["rcs"] != {0} or h["rcs"] != {0}:
    sys.exit("bench: a monitor did not report the guest running")
PY
