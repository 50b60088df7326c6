package o2cb

import (
	"os"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/ocf"
)

func TestValidateAll(t *testing.T) {
	const configured, installed = int(ocf.ErrConfigured), int(ocf.ErrInstalled)
	for _, tc := range []struct {
		name   string
		conf   string
		params []string
		code   int
		want   string // parts separated by |
	}{
		{"ok", twoNodes, nil, 0, ""},
		{"soft warning", twoNodes, []string{pDeadThreshold + "=5", pIdleTimeout + "=3000"}, 0,
			"heartbeat_dead_threshold=5 is below the 7 ocfs2-tools recommend"},
		{"idle not above keepalive", twoNodes, []string{pIdleTimeout + "=2000"}, configured,
			"idle_timeout_ms: 2000 must be larger than keepalive_delay_ms (2000)"},
		{"dead threshold", twoNodes, []string{pDeadThreshold + "=2"}, configured, "heartbeat_dead_threshold: must be 3.."},
		{"zero delays", twoNodes, []string{pKeepalive + "=0", pReconnect + "=0"}, configured,
			"keepalive_delay_ms: must be 1..2147483647, not 0; reconnect_delay_ms: must be 1.."},
		{"huge", twoNodes, []string{pIdleTimeout + "=4294967295"}, configured, "idle_timeout_ms: must be 1..2147483647"},
		{"not an integer", twoNodes, []string{pIdleTimeout + "=soon"}, configured, `"soon" is not an integer`},
		{"cluster name", twoNodes, []string{pCluster + "=much-too-long-name"}, configured, "longer than 16"},
		{"relative path", twoNodes, []string{pDLMFSDir + "=dlm"}, configured, `dlmfs_dir: must be an absolute path, not "dlm"`},
		{"manage without corosync", twoNodes, []string{pManageConf + "=true"}, configured, "manage_cluster_conf: true needs nodes_from=corosync"},
		{"ring", twoNodes, []string{pCorosyncRing + "=8"}, configured, "corosync_ring: must be 0..7"},
		{"port", twoNodes, []string{pPort + "=65535"}, configured, "ip_port: must be 1..65534"},
		{"nodes_from", twoNodes, []string{pNodesFrom + "=dns"}, configured, "is not one of cluster_conf, corosync"},
		{"global without devices", twoNodes, []string{pNodesFrom + "=corosync", pHBMode + "=global"}, configured,
			"heartbeat_mode=global with nodes_from=corosync needs heartbeat_devices"},
		{"devices in local mode", twoNodes, []string{pHBMode + "=local", pHBDevices + "=/dev/sdb"}, configured, "heartbeat_devices: set but heartbeat_mode=local"},
		{"bad device", twoNodes, []string{pHBDevices + "=sdb"}, configured, `"sdb" is neither a device path nor a volume UUID`},
		{"global without regions", twoNodes, []string{pHBMode + "=global"}, configured, "heartbeat_devices: global heartbeat needs regions"},
		{"no cluster.conf", "", nil, installed, "cluster_conf: |does not exist on this node"},
		{"bad cluster.conf", "cluster:\n name\n", nil, configured, `cluster_conf: |line 2: "name" is not a "key = value" attribute`},
		{"no such cluster", "cluster:\n\tname = other\n", nil, configured, "cluster_conf: |cluster lab: no such cluster (the file defines other)"},
		{"not a node", strings.ReplaceAll(twoNodes, "node1", "nodeX"), nil, configured,
			"cluster_conf: this node, node1, is not a node of cluster lab in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHost(t)
			if tc.conf != "" {
				h.write("etc/ocfs2/cluster.conf", tc.conf)
			}
			r := h.run("validate-all", tc.params...)
			h.expect(r, tc.code, strings.Split(tc.want, "|")...)
		})
	}
}

func TestValidateModules(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.expect(h.run("validate-all"), 0)
	h.write("lib/modules/"+fakeRelease+"/modules.dep", "kernel/fs/configfs/configfs.ko:\n")
	h.expect(h.run("validate-all"), int(ocf.ErrInstalled), "kernel module ocfs2_stack_o2cb is neither loaded nor installed")
	// built in counts, and "-" in a file name is "_"
	h.write("lib/modules/"+fakeRelease+"/modules.builtin", "kernel/fs/ocfs2/ocfs2-stack-o2cb.ko\nkernel/fs/ocfs2/dlmfs/ocfs2_dlmfs.ko.xz\n")
	h.expect(h.run("validate-all"), 0)
	must(os.RemoveAll(h.path("lib/modules/" + fakeRelease)))
	h.expect(h.run("validate-all"), int(ocf.ErrInstalled), "no modules for the running kernel")
	h.loadModules("configfs", "ocfs2_stack_o2cb", "ocfs2_dlmfs")
	h.expect(h.run("validate-all"), 0)
}

// TestLocalNodeName: CRM_meta_on_node first, then the host name and its
// first label.
func TestLocalNodeName(t *testing.T) {
	h := newFakeHost(t)
	h.write("etc/ocfs2/cluster.conf", twoNodes)
	h.expect(h.run("validate-all", "env=OCF_RESKEY_CRM_meta_on_node=node2"), 0)
	h.write("etc/ocfs2/cluster.conf", strings.ReplaceAll(twoNodes, "name = node2", "name = node1.example"))
	h.expect(h.run("validate-all", "env=OCF_RESKEY_CRM_meta_on_node=nodeX"), 0)
	h.deps.hostname = func() (string, error) { return "", os.ErrNotExist }
	h.expect(h.run("validate-all", "env=OCF_RESKEY_CRM_meta_on_node="), int(ocf.ErrConfigured), "cluster_conf: this node, (no node name: neither CRM_meta_on_node nor a host name), is not")
}
