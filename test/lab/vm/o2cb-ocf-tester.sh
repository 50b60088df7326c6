#!/bin/sh
# o2cb-ocf-tester.sh AGENT: runs in one VM of `test/lab/vm.sh run`: resource-agents' ocf-tester
# against ocf:kvmha:o2cb (the binary AGENT, built on the host) on the VM's stock kernel, with a
# one-node cluster.conf naming this host (the agent falls back to the host name when Pacemaker's
# CRM_meta_on_node is absent, as under ocf-tester). ocf-tester validates the meta-data with xmllint
# (package libxml2-utils). Prints PASS or FAIL; exit 0 / 1. POSIX sh.
set -u
agent_bin=${1:?usage: o2cb-ocf-tester.sh AGENT}
VM_TAG=o2cb-ocf-tester
. "$(dirname "$0")/vm-lib.sh"
command -v xmllint >/dev/null || fail "no xmllint in the VM (LAB_VM_EXTRA_PACKAGES=libxml2-utils)"
host=$(hostname)
mkdir -p /etc/ocfs2
printf 'cluster:\n\tname = lab\n\theartbeat_mode = local\n\tnode_count = 1\n\nnode:\n\tcluster = lab\n\tnumber = 1\n\tip_port = 7777\n\tip_address = 127.0.0.1\n\tname = %s\n\n' \
    "$host" >/etc/ocfs2/cluster.conf
ocf-tester -v -n o2cb -o cluster=lab -o heartbeat_dead_threshold=7 -o idle_timeout_ms=10000 "$agent_bin" >/tmp/ocf-tester.log 2>&1
rc=$?
sed 's/^/  ocf-tester: /' /tmp/ocf-tester.log
[ $rc = 0 ] || fail "ocf-tester exit $rc"
grep -q "$agent_bin passed all tests" /tmp/ocf-tester.log || fail "ocf-tester did not report success"
[ ! -e /sys/kernel/config/cluster/lab ] || fail "cluster left registered after ocf-tester's last stop"
log PASS
