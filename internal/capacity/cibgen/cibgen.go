// Package cibgen writes a synthetic CIB the size of a large production cluster, for
// measuring kvmha capacity on it (BenchmarkCapacity32x2000, test/bench/capacity.sh). A
// seed makes it reproducible: the same Spec gives the same bytes, so the file is generated
// when needed and never checked in (32 nodes and 2,000 guests make 57 MB).
//
// The cluster is configured as README.md recommends: hypervisor nodes with cpu,
// hv_memory and host_memory utilization, ocf:kvmha:VirtualDomain guests with the
// utilization the agent maintains and the storage rule each, the ocf:kvmha:HostHeartbeat
// clone, fence_rbd, fence_kvmha and one power device per node in a fencing topology, a
// few bans, a preference and two anti-colocations. Its status section is what Pacemaker
// 2.1 records: every resource probed on every node that was up, starts and recurring
// monitors where it runs, live migrations, failed starts, a recovered monitor failure,
// fail counts, unfencing, a node in standby and one powered off.
//
// crm_verify --xml-file accepts it without a warning (Pacemaker 2.1.5, -VV). The
// operations' digests are random hex, not Pacemaker's hashes of the parameters, so its
// scheduler would take every definition as changed (crm_simulate plans restarts and
// unfencing); kvmha capacity does not read them.
package cibgen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
)

// Spec says what to generate.
type Spec struct {
	Nodes  int    // at least 4: one is left offline and one in standby
	Guests int    // at least 20: a few are stopped, failed or banned
	Seed   uint64 // the same seed gives the same CIB
}

// Guest roles: only for ids that look like a real inventory.
var roles = []string{"web", "app", "db", "cache", "mq", "ci", "build", "ldap", "mail", "proxy", "mon", "log", "git", "dns", "file", "vdi"}

// flavor is a guest size; weight is how common it is (sums to 100).
type flavor struct {
	cpu, memMiB, weight int
}

// Small guests are the most common, a few large databases dominate the memory, as in a
// typical private cloud inventory. The average is about 8 GiB and 3 vCPUs.
var flavors = []flavor{
	{1, 1024, 10}, {1, 2048, 14}, {2, 4096, 22}, {2, 8192, 14}, {4, 8192, 14},
	{4, 16384, 12}, {8, 16384, 6}, {8, 32768, 5}, {16, 65536, 2}, {32, 131072, 1},
}

// Host generations: memory sizes in GiB a cluster mixes, nearest first around the size
// the guests need.
var hostGiB = []int{256, 384, 512, 768, 1024, 1536, 2048}

type node struct {
	id, name      string
	cpu, memMiB   int
	state         string // online, standby, offline
	freeMem, free int    // while guests are placed
}

type guest struct {
	id          string
	cpu, memMiB int
	on          int // index of the node it runs on; -1: not running
	stopped     bool
	migratedOff int // >= 0: it was live-migrated here from that node
	failedOn    []int
	failedAll   bool // its starts failed on every node tried: stopped, fail count INFINITY
	monFailed   bool // a monitor failure recovered in place
}

type gen struct {
	w      *bufio.Writer
	rng    *rand.Rand
	nodes  []*node
	guests []*guest
	fences []fence
	now    int64
	call   map[int]int // next call-id per node
	trans  int
	dc     string
	uuid   string
}

type fence struct {
	id, agent string
	on        int // node it runs on
	params    [][2]string
}

// Write writes the CIB of s to w.
func Write(w io.Writer, s Spec) error {
	if s.Nodes < 4 || s.Guests < 20 {
		return fmt.Errorf("cibgen: at least 4 nodes and 20 guests, not %d and %d", s.Nodes, s.Guests)
	}
	g := &gen{w: bufio.NewWriterSize(w, 1<<16), rng: rand.New(rand.NewPCG(s.Seed, s.Seed^0x6b766d6861)),
		now: 1767225600, call: map[int]int{}} // 2026-01-01: a fixed clock keeps the bytes stable
	g.uuid = g.hex(8) + "-" + g.hex(4) + "-" + g.hex(4) + "-" + g.hex(4) + "-" + g.hex(12)
	g.layout(s)
	g.cib()
	return g.w.Flush()
}

func (g *gen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

// layout decides the nodes, the guests and where each runs.
func (g *gen) layout(s Spec) {
	width := max(2, len(strconv.Itoa(s.Nodes)))
	for i := range s.Nodes {
		g.nodes = append(g.nodes, &node{id: strconv.Itoa(i + 1), name: fmt.Sprintf("hv%0*d", width, i+1), state: "online"})
	}
	g.nodes[len(g.nodes)-1].state = "offline" // powered off for repair
	g.nodes[len(g.nodes)-2].state = "standby" // drained for maintenance
	g.dc = g.nodes[0].name
	online := s.Nodes - 2

	total := 0
	for i := range s.Guests {
		f := g.flavor()
		g.guests = append(g.guests, &guest{id: fmt.Sprintf("%s-%04d", roles[g.rng.IntN(len(roles))], i+1),
			cpu: f.cpu, memMiB: f.memMiB, on: -1, migratedOff: -1})
		total += f.memMiB
	}
	// Hosts sized so the online ones are about 70 % full: room for most single losses,
	// tight enough that the larger hosts' losses are interesting. Each host is one
	// generation around the needed size; 4 % of its memory is kept for the host itself.
	need := total * 100 / 70 / online / 1024
	base := 0
	for base < len(hostGiB)-1 && hostGiB[base] < need {
		base++
	}
	for _, n := range g.nodes {
		gen := min(len(hostGiB)-1, max(0, base+g.rng.IntN(3)-1))
		n.memMiB = hostGiB[gen] * 1024 * 96 / 100
		n.cpu = hostGiB[gen] / 4 // 4 GiB per vCPU of capacity, hyper-threads overcommitted
		n.freeMem, n.free = n.memMiB, n.cpu
	}

	// A few guests are stopped on purpose, two failed to start everywhere they were
	// tried, one failed to start on a node and runs on another, one had a monitor
	// failure recovered in place; about 5 % were live-migrated to where they run.
	for i, gu := range g.guests {
		switch {
		case i%37 == 5:
			gu.stopped = true
			continue
		case i == 11 || i == 12:
			gu.failedAll = true
			gu.failedOn = []int{g.rng.IntN(online), g.rng.IntN(online)}
			if gu.failedOn[0] == gu.failedOn[1] {
				gu.failedOn = gu.failedOn[:1]
			}
			continue
		}
		gu.on = g.place(gu, online)
		if gu.on < 0 {
			continue // nowhere with room: stays stopped, as Pacemaker would leave it
		}
		switch {
		case i == 13 || i == 14 || i == 15:
			if f := (gu.on + 1 + g.rng.IntN(online-1)) % online; f != gu.on {
				gu.failedOn = []int{f}
			}
		case i == 16:
			gu.monFailed = true
		case g.rng.IntN(20) == 0:
			gu.migratedOff = (gu.on + 1 + g.rng.IntN(online-1)) % online
		}
	}
	for i, agent := range []string{"fence_rbd", "fence_kvmha"} {
		id := []string{"rbd-fence", "kvmha-fence"}[i]
		g.fences = append(g.fences, fence{id: id, agent: agent, on: i % online})
	}
	for i, n := range g.nodes {
		g.fences = append(g.fences, fence{id: "ipmi-" + n.name, agent: "fence_ipmilan", on: (i + 1) % online,
			params: [][2]string{{"ip", fmt.Sprintf("10.1.0.%d", i+1)}, {"username", "fence"},
				{"password", "secret"}, {"lanplus", "1"}, {"pcmk_host_list", n.name}}})
	}
}

func (g *gen) flavor() flavor {
	r := g.rng.IntN(100)
	for _, f := range flavors {
		if r < f.weight {
			return f
		}
		r -= f.weight
	}
	return flavors[0]
}

// place puts a guest on a random online node with room, preferring the emptier ones as
// a balanced placement-strategy does; -1 when none has room.
func (g *gen) place(gu *guest, online int) int {
	best, bestFree := -1, -1
	for range 3 {
		i := g.rng.IntN(online)
		n := g.nodes[i]
		if n.freeMem >= gu.memMiB && n.free >= gu.cpu && n.freeMem > bestFree {
			best, bestFree = i, n.freeMem
		}
	}
	if best < 0 {
		for i, n := range g.nodes[:online] {
			if n.freeMem >= gu.memMiB && n.free >= gu.cpu && n.freeMem > bestFree {
				best, bestFree = i, n.freeMem
			}
		}
	}
	if best >= 0 {
		g.nodes[best].freeMem -= gu.memMiB
		g.nodes[best].free -= gu.cpu
	}
	return best
}

func (g *gen) p(format string, args ...any) { fmt.Fprintf(g.w, format, args...) }

func (g *gen) nvpair(indent, id, name, value string) {
	g.p("%s<nvpair id=\"%s-%s\" name=\"%s\" value=\"%s\"/>\n", indent, id, name, name, value)
}

func (g *gen) cib() {
	g.p("<cib crm_feature_set=\"3.16.2\" validate-with=\"pacemaker-3.9\" epoch=\"%d\" num_updates=\"%d\" admin_epoch=\"0\" "+
		"cib-last-written=\"Thu Jan  1 00:00:00 2026\" update-origin=\"%s\" update-client=\"crm_resource\" update-user=\"root\" "+
		"have-quorum=\"1\" dc-uuid=\"1\">\n", 1000+len(g.guests), 10*len(g.guests), g.dc)
	g.p("  <configuration>\n    <crm_config>\n      <cluster_property_set id=\"cib-bootstrap-options\">\n")
	for _, kv := range [][2]string{{"have-watchdog", "false"}, {"dc-version", "2.1.5-a3f44794f94"},
		{"cluster-infrastructure", "corosync"}, {"cluster-name", "kvm-prod"}, {"stonith-enabled", "true"},
		{"stonith-action", "off"}, {"placement-strategy", "balanced"}, {"cluster-recheck-interval", "30s"}} {
		g.nvpair("        ", "cib-bootstrap-options", kv[0], kv[1])
	}
	g.p("      </cluster_property_set>\n    </crm_config>\n    <nodes>\n")
	for _, n := range g.nodes {
		g.p("      <node id=\"%s\" uname=\"%s\">\n", n.id, n.name)
		if n.state == "standby" {
			g.p("        <instance_attributes id=\"nodes-%s\">\n", n.id)
			g.nvpair("          ", "nodes-"+n.id, "standby", "on")
			g.p("        </instance_attributes>\n")
		}
		g.p("        <utilization id=\"nodes-%s-utilization\">\n", n.id)
		g.nvpair("          ", "nodes-"+n.id+"-utilization", "cpu", strconv.Itoa(n.cpu))
		g.nvpair("          ", "nodes-"+n.id+"-utilization", "hv_memory", strconv.Itoa(n.memMiB))
		g.nvpair("          ", "nodes-"+n.id+"-utilization", "host_memory", strconv.Itoa(n.memMiB))
		g.p("        </utilization>\n      </node>\n")
	}
	g.p("    </nodes>\n    <resources>\n")
	g.resources()
	g.p("    </resources>\n    <constraints>\n")
	g.constraints()
	g.p("    </constraints>\n    <fencing-topology>\n")
	for _, n := range g.nodes {
		g.p("      <fencing-level id=\"fl-%s-1\" target=\"%s\" index=\"1\" devices=\"rbd-fence,ipmi-%s\"/>\n", n.name, n.name, n.name)
		g.p("      <fencing-level id=\"fl-%s-2\" target=\"%s\" index=\"2\" devices=\"kvmha-fence\"/>\n", n.name, n.name)
	}
	g.p("    </fencing-topology>\n    <rsc_defaults>\n      <meta_attributes id=\"rsc_defaults-meta_attributes\">\n")
	g.nvpair("        ", "rsc_defaults-meta_attributes", "resource-stickiness", "100")
	g.p("      </meta_attributes>\n    </rsc_defaults>\n  </configuration>\n  <status>\n")
	g.status()
	g.p("  </status>\n</cib>\n")
}

const (
	cephConf    = "/etc/ceph/ceph.conf"
	cephKeyring = "/etc/ceph/ceph.client.libvirt.keyring"
	backends    = "rados://rbd/kvmha-hb,file:///shared/kvmha-hb"
)

func (g *gen) resources() {
	for _, f := range g.fences[:2] {
		g.p("      <primitive class=\"stonith\" id=\"%s\" type=\"%s\">\n        <instance_attributes id=\"%s-instance_attributes\">\n", f.id, f.agent, f.id)
		hosts := ""
		for i, n := range g.nodes {
			if i > 0 {
				hosts += " "
			}
			hosts += n.name
		}
		if f.agent == "fence_rbd" {
			g.nvpair("          ", f.id+"-instance_attributes", "pools", "rbd")
			g.nvpair("          ", f.id+"-instance_attributes", "ceph_user", "fence")
		} else {
			g.nvpair("          ", f.id+"-instance_attributes", "backends", backends)
			g.nvpair("          ", f.id+"-instance_attributes", "ceph_user", "libvirt")
			g.nvpair("          ", f.id+"-instance_attributes", "pcmk_off_timeout", "60s")
		}
		g.nvpair("          ", f.id+"-instance_attributes", "ceph_conf", cephConf)
		g.nvpair("          ", f.id+"-instance_attributes", "pcmk_host_list", hosts)
		g.p("        </instance_attributes>\n        <meta_attributes id=\"%s-meta_attributes\">\n", f.id)
		if f.agent == "fence_rbd" {
			g.nvpair("          ", f.id+"-meta_attributes", "provides", "unfencing")
		}
		g.nvpair("          ", f.id+"-meta_attributes", "failure-timeout", "60s")
		g.p("        </meta_attributes>\n        <operations>\n")
		g.p("          <op name=\"monitor\" interval=\"60s\" id=\"%s-monitor-interval-60s\"/>\n        </operations>\n      </primitive>\n", f.id)
	}
	for _, f := range g.fences[2:] {
		g.p("      <primitive class=\"stonith\" id=\"%s\" type=\"%s\">\n        <instance_attributes id=\"%s-instance_attributes\">\n", f.id, f.agent, f.id)
		for _, kv := range f.params {
			g.nvpair("          ", f.id+"-instance_attributes", kv[0], kv[1])
		}
		g.p("        </instance_attributes>\n        <operations>\n")
		g.p("          <op name=\"monitor\" interval=\"60s\" id=\"%s-monitor-interval-60s\"/>\n        </operations>\n      </primitive>\n", f.id)
	}
	g.p("      <clone id=\"hb-clone\">\n        <primitive class=\"ocf\" id=\"hb\" provider=\"kvmha\" type=\"HostHeartbeat\">\n")
	g.p("          <instance_attributes id=\"hb-instance_attributes\">\n")
	for _, kv := range [][2]string{{"backends", backends}, {"ceph_conf", cephConf}, {"ceph_user", "libvirt"}, {"ceph_keyring", cephKeyring}} {
		g.nvpair("            ", "hb-instance_attributes", kv[0], kv[1])
	}
	g.p("          </instance_attributes>\n          <meta_attributes id=\"hb-meta_attributes\">\n")
	g.nvpair("            ", "hb-meta_attributes", "failure-timeout", "60s")
	g.p("          </meta_attributes>\n          <operations>\n")
	g.p("            <op name=\"monitor\" interval=\"10s\" id=\"hb-monitor-interval-10s\"/>\n")
	g.p("            <op name=\"start\" interval=\"0s\" timeout=\"60s\" id=\"hb-start-interval-0s\"/>\n")
	g.p("            <op name=\"stop\" interval=\"0s\" timeout=\"60s\" id=\"hb-stop-interval-0s\"/>\n")
	g.p("          </operations>\n        </primitive>\n        <meta_attributes id=\"hb-clone-meta_attributes\">\n")
	g.nvpair("          ", "hb-clone-meta_attributes", "interleave", "true")
	g.p("        </meta_attributes>\n      </clone>\n")
	for _, gu := range g.guests {
		g.guestPrimitive(gu)
	}
}

// guestPrimitive writes a guest as pcs resource create writes the README's example, with
// the utilization the agent's monitor sets (crm_resource --utilization ids).
func (g *gen) guestPrimitive(gu *guest) {
	id := gu.id
	g.p("      <primitive class=\"ocf\" id=\"%s\" provider=\"kvmha\" type=\"VirtualDomain\">\n", id)
	g.p("        <instance_attributes id=\"%s-instance_attributes\">\n", id)
	for _, kv := range [][2]string{{"config", "/etc/kvmha/" + id + ".xml"}, {"hypervisor", "qemu:///system"},
		{"migration_transport", "tcp"}, {"ceph_conf", cephConf}, {"ceph_user", "libvirt"}, {"ceph_keyring", cephKeyring}} {
		g.nvpair("          ", id+"-instance_attributes", kv[0], kv[1])
	}
	g.p("        </instance_attributes>\n        <meta_attributes id=\"%s-meta_attributes\">\n", id)
	meta := [][2]string{{"allow-migrate", "true"}, {"resource-stickiness", "100"}, {"failure-timeout", "60s"}}
	if gu.stopped {
		meta = append(meta, [2]string{"target-role", "Stopped"})
	}
	for _, kv := range meta {
		g.nvpair("          ", id+"-meta_attributes", kv[0], kv[1])
	}
	g.p("        </meta_attributes>\n        <operations>\n")
	g.p("          <op name=\"migrate_from\" interval=\"0s\" timeout=\"50s\" id=\"%s-migrate_from-interval-0s\"/>\n", id)
	g.p("          <op name=\"migrate_to\" interval=\"0s\" timeout=\"50s\" id=\"%s-migrate_to-interval-0s\"/>\n", id)
	g.p("          <op name=\"monitor\" interval=\"10s\" timeout=\"30s\" id=\"%s-monitor-interval-10s\"/>\n", id)
	g.p("          <op name=\"monitor\" interval=\"30s\" timeout=\"60s\" id=\"%s-monitor-interval-30s\">\n", id)
	g.p("            <instance_attributes id=\"%s-monitor-interval-30s-instance_attributes\">\n", id)
	g.nvpair("              ", id+"-monitor-interval-30s-instance_attributes", "OCF_CHECK_LEVEL", "20")
	g.p("            </instance_attributes>\n          </op>\n")
	g.p("          <op name=\"start\" interval=\"0s\" timeout=\"90s\" id=\"%s-start-interval-0s\"/>\n", id)
	g.p("          <op name=\"stop\" interval=\"0s\" timeout=\"90s\" id=\"%s-stop-interval-0s\"/>\n", id)
	g.p("        </operations>\n        <utilization id=\"%s-utilization\">\n", id)
	g.nvpair("          ", id+"-utilization", "cpu", strconv.Itoa(gu.cpu))
	g.nvpair("          ", id+"-utilization", "hv_memory", strconv.Itoa(gu.memMiB))
	g.nvpair("          ", id+"-utilization", "host_memory", strconv.Itoa(gu.memMiB))
	g.p("        </utilization>\n      </primitive>\n")
}

func (g *gen) constraints() {
	for _, f := range g.fences[2:] { // a power device never runs on the node it kills
		target := f.params[len(f.params)-1][1]
		g.p("      <rsc_location id=\"location-%s-%s--INFINITY\" rsc=\"%s\" node=\"%s\" score=\"-INFINITY\"/>\n", f.id, target, f.id, target)
	}
	// The README's storage rule on every guest: prefer hosts whose storage works.
	for _, gu := range g.guests {
		g.p("      <rsc_location id=\"location-%s\" rsc=\"%s\">\n", gu.id, gu.id)
		g.p("        <rule id=\"location-%s-rule\" boolean-op=\"and\" score=\"1000\">\n", gu.id)
		g.p("          <expression id=\"location-%s-rule-expr\" operation=\"eq\" attribute=\"kvmha-storage\" value=\"1\"/>\n", gu.id)
		g.p("        </rule>\n      </rsc_location>\n")
	}
	// A few operators' bans (pcs resource ban) and a preference (pcs resource move).
	for k := 0; k < 3; k++ {
		gu := g.guests[20+k*7]
		if gu.on < 0 {
			continue
		}
		ban := g.nodes[(gu.on+1+k)%(len(g.nodes)-2)]
		g.p("      <rsc_location id=\"cli-ban-%s-on-%s\" rsc=\"%s\" role=\"Started\" node=\"%s\" score=\"-INFINITY\"/>\n", gu.id, ban.name, gu.id, ban.name)
	}
	if gu := g.guests[19]; gu.on >= 0 {
		g.p("      <rsc_location id=\"cli-prefer-%s\" rsc=\"%s\" role=\"Started\" node=\"%s\" score=\"INFINITY\"/>\n", gu.id, gu.id, g.nodes[gu.on].name)
	}
	// Two pairs kept apart (pcs constraint colocation add ... -INFINITY).
	for k := 0; k < 2; k++ {
		a, b := g.guests[2*k], g.guests[2*k+1]
		g.p("      <rsc_colocation id=\"colocation-%s-%s--INFINITY\" rsc=\"%s\" with-rsc=\"%s\" score=\"-INFINITY\"/>\n", a.id, b.id, a.id, b.id)
	}
}

// op writes one lrm_rsc_op as the controller records it. key is the history entry's
// name (last_0, last_failure_0, monitor_10000).
func (g *gen) op(ni int, rsc, key, task string, interval, rc int, expect int, t int64, exitReason string) {
	n := g.nodes[ni]
	call := g.call[ni] + 1
	g.call[ni] = call
	g.trans++
	opStatus := 0
	if rc != 0 && rc != 7 {
		opStatus = 4 // PCMK_EXEC_ERROR: the agent reported an error
	}
	tkey := fmt.Sprintf("%d:%d:%d:%s", 10+g.rng.IntN(200), g.trans/50, expect, g.uuid)
	g.p("            <lrm_rsc_op id=\"%s_%s\" operation_key=\"%s_%s_%d\" operation=\"%s\" crm-debug-origin=\"do_update_resource\" "+
		"crm_feature_set=\"3.16.2\" transition-key=\"%s\" transition-magic=\"%d:%d;%s\" exit-reason=\"%s\" on_node=\"%s\" "+
		"call-id=\"%d\" rc-code=\"%d\" op-status=\"%d\" interval=\"%d\" last-rc-change=\"%d\" exec-time=\"%d\" queue-time=\"0\" "+
		"op-digest=\"%s\"", rsc, key, rsc, task, interval, task, tkey, opStatus, rc, tkey, exitReason, n.name,
		call, rc, opStatus, interval, t, 20+g.rng.IntN(3000), g.hex(32))
	if task == "start" || task == "migrate_from" || (task == "monitor" && interval == 0) {
		g.p(" op-force-restart=\"  config  hypervisor  \" op-restart-digest=\"%s\"", g.hex(32))
	}
	g.p(" op-secure-params=\"  ceph_keyring  \" op-secure-digest=\"%s\"/>\n", g.hex(32))
}

func (g *gen) lrmResource(id, class, provider, typ string, body func()) {
	if provider != "" {
		g.p("          <lrm_resource id=\"%s\" class=\"%s\" provider=\"%s\" type=\"%s\">\n", id, class, provider, typ)
	} else {
		g.p("          <lrm_resource id=\"%s\" class=\"%s\" type=\"%s\">\n", id, class, typ)
	}
	body()
	g.p("          </lrm_resource>\n")
}

// running writes the history of a resource started on node ni: the start (or the
// migrate_from that brought it) and its recurring monitors.
func (g *gen) running(ni int, id, task string, intervals ...int) {
	t := g.now - int64(g.rng.IntN(30*86400))
	g.op(ni, id, "last_0", task, 0, 0, 0, t, "")
	for _, iv := range intervals {
		g.op(ni, id, fmt.Sprintf("monitor_%d", iv), "monitor", iv, 0, 0, t+2, "")
	}
}

func (g *gen) probe(ni int, id string) {
	g.op(ni, id, "last_0", "monitor", 0, 7, 7, g.now-40*86400+int64(g.rng.IntN(3600)), "")
}

func (g *gen) status() {
	for ni, n := range g.nodes {
		if n.state == "offline" {
			// Fenced and powered off: the DC erased its history; its guests run elsewhere.
			g.p("    <node_state id=\"%s\" uname=\"%s\" in_ccm=\"false\" crmd=\"offline\" crm-debug-origin=\"send_stonith_update\" "+
				"join=\"down\" expected=\"down\">\n      <lrm id=\"%s\">\n        <lrm_resources/>\n      </lrm>\n    </node_state>\n", n.id, n.name, n.id)
			continue
		}
		g.p("    <node_state id=\"%s\" uname=\"%s\" in_ccm=\"true\" crmd=\"online\" crm-debug-origin=\"do_update_resource\" "+
			"join=\"member\" expected=\"member\">\n", n.id, n.name)
		g.p("      <transient_attributes id=\"%s\">\n        <instance_attributes id=\"status-%s\">\n", n.id, n.id)
		// fence_rbd provides unfencing: a node runs nothing until it was unfenced.
		g.p("          <nvpair id=\"status-%s-.node-unfenced\" name=\"#node-unfenced\" value=\"%d\"/>\n", n.id, g.now-40*86400)
		if n.state == "online" {
			g.nvpair("          ", "status-"+n.id, "kvmha-storage", "1")
		}
		for _, gu := range g.guests {
			if contains(gu.failedOn, ni) {
				count := "1"
				if gu.failedAll {
					count = "INFINITY"
				}
				g.nvpair("          ", "status-"+n.id, "fail-count-"+gu.id+"#start_0", count)
				g.nvpair("          ", "status-"+n.id, "last-failure-"+gu.id+"#start_0", strconv.FormatInt(g.now-3600, 10))
			}
			if gu.monFailed && gu.on == ni {
				g.nvpair("          ", "status-"+n.id, "fail-count-"+gu.id+"#monitor_10000", "1")
				g.nvpair("          ", "status-"+n.id, "last-failure-"+gu.id+"#monitor_10000", strconv.FormatInt(g.now-7200, 10))
			}
		}
		g.p("        </instance_attributes>\n      </transient_attributes>\n")
		g.p("      <lrm id=\"%s\">\n        <lrm_resources>\n", n.id)
		for _, f := range g.fences {
			g.lrmResource(f.id, "stonith", "", f.agent, func() {
				if f.on == ni {
					g.running(ni, f.id, "start", 60000)
				} else {
					g.probe(ni, f.id)
				}
			})
		}
		g.lrmResource("hb", "ocf", "kvmha", "HostHeartbeat", func() {
			if n.state == "online" {
				g.running(ni, "hb", "start", 10000)
			} else { // drained: stopped when the node was put in standby
				g.op(ni, "hb", "last_0", "stop", 0, 0, 0, g.now-86400, "")
			}
		})
		for _, gu := range g.guests {
			g.lrmResource(gu.id, "ocf", "kvmha", "VirtualDomain", func() { g.guestHistory(ni, gu) })
		}
		g.p("        </lrm_resources>\n      </lrm>\n    </node_state>\n")
	}
}

// guestHistory writes what node ni recorded of a guest.
func (g *gen) guestHistory(ni int, gu *guest) {
	id := gu.id
	switch {
	case contains(gu.failedOn, ni):
		// The start failed (the domain's disk lock was held), then the stop cleaned up.
		t := g.now - 3600
		g.op(ni, id, "last_failure_0", "start", 0, 1, 0, t, "domain did not start: lock held")
		g.op(ni, id, "last_0", "stop", 0, 0, 0, t+5, "")
	case gu.on == ni && gu.monFailed:
		t := g.now - 7200
		g.op(ni, id, "last_failure_0", "monitor", 10000, 7, 0, t, "")
		g.call[ni]++ // the stop in between is replaced in the history by the start
		g.running(ni, id, "start", 10000, 30000)
	case gu.on == ni && gu.migratedOff >= 0:
		g.running(ni, id, "migrate_from", 10000, 30000)
	case gu.on == ni:
		g.running(ni, id, "start", 10000, 30000)
	case gu.migratedOff == ni:
		// The source of a live migration: migrate_to, then the stop that ends it.
		g.op(ni, id, "last_0", "stop", 0, 0, 0, g.now-int64(g.rng.IntN(86400)), "")
	default:
		g.probe(ni, id)
	}
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
