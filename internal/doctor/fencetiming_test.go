package doctor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cibXML is a CIB as cibadmin --query prints it: the cluster options and
// the resources given (already XML).
func cibXML(props map[string]string, resources ...string) string {
	var b strings.Builder
	b.WriteString(`<cib crm_feature_set="3.16.2" validate-with="pacemaker-3.9" epoch="40" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
`)
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, "        <nvpair id=\"cib-bootstrap-options-%s\" name=\"%s\" value=\"%s\"/>\n", k, k, props[k])
	}
	b.WriteString("      </cluster_property_set>\n    </crm_config>\n    <nodes/>\n    <resources>\n")
	for _, r := range resources {
		b.WriteString(r)
	}
	b.WriteString("    </resources>\n    <constraints/>\n  </configuration>\n  <status/>\n</cib>\n")
	return b.String()
}

// params renders instance attributes "k=v k=v".
func params(id, kv string) string {
	if kv == "" {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<instance_attributes id=\"%s-ia\">", id)
	for _, p := range strings.Fields(kv) {
		k, v, _ := strings.Cut(p, "=")
		fmt.Fprintf(&b, "<nvpair id=\"%s-%s\" name=\"%s\" value=\"%s\"/>", id, k, k, strings.ReplaceAll(v, "_", " "))
	}
	b.WriteString("</instance_attributes>")
	return b.String()
}

// kvmhaDevice is a fence_kvmha primitive; hbClone a HostHeartbeat clone.
func kvmhaDevice(id, kv string) string {
	return fmt.Sprintf("<primitive id=\"%s\" class=\"stonith\" type=\"fence_kvmha\">%s</primitive>\n",
		id, params(id, "backends=rados://kvmha pcmk_host_list=node1_node2_node3 "+kv))
}

func hbClone(id, kv string) string {
	return fmt.Sprintf("<clone id=\"%s-clone\"><primitive id=\"%s\" class=\"ocf\" provider=\"kvmha\" type=\"HostHeartbeat\">%s</primitive></clone>\n",
		id, id, params(id, "backends=rados://kvmha "+kv))
}

const powerDevice = `<primitive id="lab-fence" class="stonith" type="fence_ipmilan"/>` + "\n"

// corosync3 is a corosync.conf with n nodes and the given totem lines.
func corosyncConf(nodes int, totem string) string {
	var b strings.Builder
	b.WriteString("totem {\n    version: 2\n    cluster_name: lab\n    transport: knet\n" + totem + "}\n\nnodelist {\n")
	for i := 1; i <= nodes; i++ {
		fmt.Fprintf(&b, "    node {\n        ring0_addr: 10.0.0.%d\n        name: node%d\n        nodeid: %d\n    }\n", i, i, i)
	}
	b.WriteString("}\n\nquorum {\n    provider: corosync_votequorum\n}\n")
	return b.String()
}

func timingDoctor(t *testing.T, cib string, corosync string) *Doctor {
	t.Helper()
	files := map[string]string{"/etc/hostname": "node1\n"}
	if corosync != "" {
		files["/etc/corosync/corosync.conf"] = corosync
	}
	d := testDoctor(fakeTree(t, files), nil, nil, nil)
	if cib != "" {
		d.CIB = func(context.Context) ([]byte, error) { return []byte(cib), nil }
	}
	return d
}

func TestFenceTiming(t *testing.T) {
	lab := map[string]string{"stonith-action": "off", "dc-version": "2.1.5-a3f44794f94"}
	three := corosyncConf(3, "")
	for _, tc := range []struct {
		name     string
		props    map[string]string
		res      []string
		corosync string
		status   Status
		detail   string
		fix      string
	}{
		{"the lab's configuration", lab,
			[]string{kvmhaDevice("kvmha-fence", "pcmk_off_timeout=60s"), hbClone("hb", ""), powerDevice}, three, Pass,
			"fence_kvmha kvmha-fence needs up to 18s of its 1m0s (pcmk_off_timeout=60s) and of its own 40s; " +
				"corosync's token + consensus 8.03s < stonith-timeout (default 1m0s)", ""},
		{"defaults everywhere", nil, []string{kvmhaDevice("f", ""), hbClone("hb", "")}, "", Pass,
			"fence_kvmha f needs up to 18s of its 1m0s (stonith-timeout (default 1m0s)) and of its own 1m20s", ""},
		{"a long heartbeat timeout", nil,
			[]string{kvmhaDevice("f", ""), hbClone("hb", "timeout=30 watchdog_timeout=30")}, "", Fail,
			"fence_kvmha device f needs up to 1m8s to prove a silent host dead (hb's timeout 30s + watchdog_timeout 30s + margin 2s + " +
				"one interval 1s + 5s to open the backends and write the fence messages), but Pacemaker gives its reboot 1m0s (stonith-timeout (default 1m0s))",
			"pcs stonith update f pcmk_reboot_timeout=82"},
		{"stonith-timeout large enough", map[string]string{"stonith-timeout": "2min"},
			[]string{kvmhaDevice("f", ""), hbClone("hb", "timeout=30 watchdog_timeout=30")}, "", Pass,
			"needs up to 1m8s of its 2m0s (stonith-timeout=2min) and of its own 1m20s", ""},
		{"stonith-timeout in ISO 8601", map[string]string{"stonith-timeout": "PT2M"},
			[]string{kvmhaDevice("f", ""), hbClone("hb", "timeout=30 watchdog_timeout=30")}, "", Pass,
			"of its 2m0s (stonith-timeout=PT2M)", ""},
		{"the agent's own deadline for off", map[string]string{"stonith-action": "poweroff", "stonith-timeout": "300"},
			[]string{kvmhaDevice("f", ""), hbClone("hb", "timeout=30 watchdog_timeout=30")}, "", Fail,
			"but the agent's own deadline for off ends after 40s (power_wait 0s + 2 x power_timeout 20s + delay 0s)",
			"pcs stonith update f power_timeout=34"},
		{"the agent's own deadline for reboot", map[string]string{"stonith-timeout": "300"},
			[]string{kvmhaDevice("f", "power_timeout=10"), hbClone("hb", "timeout=30 watchdog_timeout=30")}, "", Fail,
			"the agent's own deadline for reboot ends after 40s (2 x (power_wait 0s + 2 x power_timeout 10s) + delay 0s)",
			"pcs stonith update f power_timeout=17"},
		{"a unit the fencer does not read", nil,
			[]string{kvmhaDevice("f", "pcmk_reboot_timeout=2min"), hbClone("hb", "")}, "", Fail,
			"Pacemaker gives its reboot 2s (pcmk_reboot_timeout=2min) (Pacemaker's fencer reads pcmk_reboot_timeout as whole seconds: \"2min\" is 2s, not 2m0s)",
			"(in whole seconds, no unit): pcs stonith update f pcmk_reboot_timeout=22"},
		{"a unit misread to more", nil,
			[]string{kvmhaDevice("f", "pcmk_reboot_timeout=500ms"), hbClone("hb", "")}, "", Warn,
			"pcmk_reboot_timeout=500ms (Pacemaker's fencer reads pcmk_reboot_timeout as whole seconds: \"500ms\" is 8m20s, not 0.5s)",
			"write it in whole seconds: pcs stonith update f pcmk_reboot_timeout=500"},
		{"the other action's timeout is not used", nil,
			[]string{kvmhaDevice("f", "pcmk_off_timeout=120"), hbClone("hb", "timeout=30 watchdog_timeout=30")}, "", Fail,
			"Pacemaker gives its reboot 1m0s (stonith-timeout (default 1m0s))", "pcmk_reboot_timeout=82"},
		{"delays count before Pacemaker 2.1.6", map[string]string{"dc-version": "2.1.5-a3f44794f94", "stonith-timeout": "30s"},
			[]string{kvmhaDevice("f", "pcmk_delay_max=15s delay=3"), hbClone("hb", "")}, "", Fail,
			"needs up to 36s to prove a silent host dead (hb's timeout 5s + watchdog_timeout 5s + margin 2s + one interval 1s + 5s to open the backends " +
				"and write the fence messages + delay 3s + pcmk_delay 15s (Pacemaker before 2.1.6 counts it))",
			"pcmk_reboot_timeout=44"},
		{"delays do not count from Pacemaker 2.1.6", map[string]string{"dc-version": "2.1.7-0f7f88312", "stonith-timeout": "30s"},
			[]string{kvmhaDevice("f", "pcmk_delay_max=15s delay=3"), hbClone("hb", "")}, "", Pass,
			"needs up to 21s of its 30s (stonith-timeout=30s) and of its own 1m23s", ""},
		{"pcmk_delay_base per node", map[string]string{"dc-version": "2.1.5", "stonith-timeout": "30s"},
			[]string{kvmhaDevice("f", "pcmk_delay_base=node1:0;node2:20s"), hbClone("hb", "")}, "", Fail,
			"+ pcmk_delay 20s", ""},
		{"a large margin", nil, []string{kvmhaDevice("f", "margin=50"), hbClone("hb", "")}, "", Fail,
			"margin 50s", "pcmk_reboot_timeout=80"},
		{"a margin the agent refuses", nil, []string{kvmhaDevice("f", "margin=soon"), hbClone("hb", "")}, "", Fail,
			"fence_kvmha device f: margin=\"soon\" is not a number of seconds", "pcs stonith update f margin=2"},
		{"the slowest heartbeat on the device's backends", map[string]string{"stonith-timeout": "40"},
			[]string{kvmhaDevice("f", ""), hbClone("hb", ""),
				strings.Replace(hbClone("other", "timeout=60"), "rados://kvmha", "file:///elsewhere", 1)}, "", Pass,
			"needs up to 18s of its 40s", ""},
		{"HostHeartbeat refuses its timeout", nil, []string{kvmhaDevice("f", ""), hbClone("hb", "interval=5 timeout=8")}, "", Fail,
			"HostHeartbeat hb: timeout 8s is less than twice its interval 5s", "pcs resource update hb timeout=10"},
		{"HostHeartbeat value not a number", nil, []string{kvmhaDevice("f", ""), hbClone("hb", "watchdog_timeout=5s")}, "", Fail,
			"HostHeartbeat hb: watchdog_timeout=\"5s\" is not a positive whole number of seconds", "pcs resource update hb watchdog_timeout=<whole seconds>"},
		{"no heartbeat for the device", nil, []string{kvmhaDevice("f", "")}, "", Warn,
			"fence_kvmha device f reads the hosts' heartbeats, but the CIB has no ocf:kvmha:HostHeartbeat resource", "ocf:kvmha:HostHeartbeat"},
		{"no watchdog and no other device", nil, []string{kvmhaDevice("f", ""), hbClone("hb", "watchdog_device=none")}, "", Fail,
			"HostHeartbeat hb runs without a watchdog (watchdog_device=none): its silence proves nothing", "watchdog_device=/dev/watchdog"},
		{"no watchdog beside a power device", nil,
			[]string{kvmhaDevice("f", ""), hbClone("hb", "watchdog_device=none"), powerDevice}, "", Warn,
			"HostHeartbeat hb runs without a watchdog", "a power fencing device follows fence_kvmha"},
		{"a stopped device is not judged", nil,
			[]string{strings.Replace(kvmhaDevice("f", "pcmk_reboot_timeout=1"), "</primitive>",
				`<meta_attributes id="f-meta"><nvpair id="f-tr" name="target-role" value="Stopped"/></meta_attributes></primitive>`, 1), hbClone("hb", "")},
			three, Pass, "corosync's token + consensus 8.03s < stonith-timeout (default 1m0s)", ""},
		{"corosync's token too long", nil, nil, corosyncConf(3, "    token: 30000\n"), Fail,
			"corosync's token 30.65s + consensus 36.78s = 1m7s (token 30000 ms, + 1 x token_coefficient 650 ms for 3 nodes, consensus 1.2 x token) " +
				"is not less than stonith-timeout (default 1m0s)",
			"pcs property set stonith-timeout=98s"},
		{"corosync with two nodes and consensus", map[string]string{"stonith-timeout": "20s"}, nil,
			corosyncConf(2, "    token: 10000\n    consensus: 12000\n"), Fail,
			"token 10s + consensus 12s = 22s", "stonith-timeout=60s"},
		{"corosync's coefficient", nil, nil, corosyncConf(5, "    token_coefficient: 1000\n"), Pass,
			"corosync's token + consensus 13.2s < stonith-timeout (default 1m0s)", ""},
		{"corosync.conf broken", nil, nil, "totem {\n", Warn, "section totem is not closed", "correct /etc/corosync/corosync.conf"},
		{"corosync token not a number", nil, nil, corosyncConf(2, "    token: 3s\n"), Warn,
			"totem.token \"3s\" is not a number of milliseconds", "corosync refuses it too"},
		{"stonith-timeout Pacemaker refuses", map[string]string{"stonith-timeout": "soon"},
			[]string{kvmhaDevice("f", ""), hbClone("hb", "")}, "", Pass,
			"(stonith-timeout=\"soon\" is no time Pacemaker reads: it uses its default, 1m0s)", ""},
		{"fencing disabled", map[string]string{"stonith-enabled": "false"}, []string{kvmhaDevice("f", "pcmk_reboot_timeout=1")}, three, Skip,
			"fencing is disabled (stonith-enabled=false)", ""},
		{"nothing to judge", nil, []string{powerDevice}, "", Skip,
			"no fence_kvmha device in the CIB and no /etc/corosync/corosync.conf", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := timingDoctor(t, cibXML(tc.props, tc.res...), tc.corosync)
			expect(t, runNamed(t, d, "fence-timing")["fence-timing"], tc.status, tc.detail, tc.fix)
		})
	}
}

func TestFenceTimingSources(t *testing.T) {
	d := timingDoctor(t, "", "")
	expect(t, runNamed(t, d, "fence-timing")["fence-timing"], Skip, "no Pacemaker here (no cibadmin), and no --cib given", "")

	d.CIB = func(context.Context) ([]byte, error) {
		return nil, errors.New("cibadmin --query: Could not connect to the CIB: Transport endpoint is not connected (exit 102)")
	}
	expect(t, runNamed(t, d, "fence-timing")["fence-timing"], Warn, "cannot read the CIB: cibadmin --query: Could not connect", "--cib FILE")

	for _, tc := range []struct{ name, cib, detail string }{
		{"not XML", "<cib><configuration>", "the CIB: not well-formed XML"},
		{"another document", "<domain type='kvm'/>", "the root element is <domain>, not <cib>"},
		{"no configuration", "<cib/>", "the CIB has no configuration section"},
		{"too large", "<cib>" + strings.Repeat(" ", 64<<20) + "</cib>", "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := timingDoctor(t, tc.cib, "")
			expect(t, runNamed(t, d, "fence-timing")["fence-timing"], Fail, tc.detail, "cibadmin --query")
		})
	}

	// cibadmin --scope configuration prints the configuration alone.
	cfg := cibXML(nil, kvmhaDevice("f", ""), hbClone("hb", ""))
	cfg = cfg[strings.Index(cfg, "<configuration>"):strings.Index(cfg, "<status/>")]
	expect(t, runNamed(t, timingDoctor(t, cfg, ""), "fence-timing")["fence-timing"], Pass, "fence_kvmha f needs up to 18s", "")
}

func TestFenceTimingHostileCorosync(t *testing.T) {
	cib := cibXML(nil, kvmhaDevice("f", ""), hbClone("hb", ""))
	d := timingDoctor(t, cib, strings.Repeat("# x\n", (1<<20)/4+1))
	expect(t, runNamed(t, d, "fence-timing")["fence-timing"], Warn, "/etc/corosync/corosync.conf: too large", "readable")

	d = timingDoctor(t, cib, "")
	p := d.Root.path("/etc/corosync/corosync.conf")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skip(err)
	}
	start := time.Now()
	expect(t, runNamed(t, d, "fence-timing")["fence-timing"], Warn, "not a regular file (a FIFO)", "readable")
	if time.Since(start) > 2*time.Second {
		t.Errorf("a FIFO took %s", time.Since(start))
	}
}

// The CIB's id-refs, templates, scores and rules are read as Pacemaker
// reads them.
func TestParseCIBConfig(t *testing.T) {
	cib := `<cib><configuration>
  <crm_config>
    <cluster_property_set id="low" score="1"><nvpair id="a" name="stonith-timeout" value="10"/></cluster_property_set>
    <cluster_property_set id="high" score="10"><nvpair id="b" name="stonith-timeout" value="90"/></cluster_property_set>
    <cluster_property_set id="ruled"><rule id="r" score="INFINITY"><date_expression id="d" operation="lt" end="2030-01-01"/></rule>
      <nvpair id="c" name="stonith-action" value="off"/></cluster_property_set>
  </crm_config>
  <resources>
    <template id="kvmha-tpl" class="stonith" type="fence_kvmha">
      <instance_attributes id="tpl-ia"><nvpair id="t1" name="margin" value="4"/><nvpair id="t2" name="backends" value="rados://x"/></instance_attributes>
    </template>
    <primitive id="f" template="kvmha-tpl">
      <instance_attributes id="f-ia"><nvpair id="f1" name="margin" value="3"/><nvpair id="f2" id-ref="t2"/></instance_attributes>
    </primitive>
    <group id="g"><primitive id="hb" class="ocf" provider="kvmha" type="HostHeartbeat"><instance_attributes id-ref="tpl-ia"/></primitive></group>
  </resources>
</configuration></cib>`
	c, err := parseCIBConfig([]byte(cib))
	if err != nil {
		t.Fatal(err)
	}
	if c.props["stonith-timeout"] != "90" || c.props["stonith-action"] != "" || len(c.notes) != 1 || !strings.Contains(c.notes[0], "ruled") {
		t.Errorf("props %v notes %v", c.props, c.notes)
	}
	if len(c.primitives) != 2 {
		t.Fatalf("%+v", c.primitives)
	}
	f, hb := c.primitives[0], c.primitives[1]
	if f.class != "stonith" || f.agent != "fence_kvmha" || f.params["margin"] != "3" || f.params["backends"] != "rados://x" {
		t.Errorf("f: %+v", f)
	}
	if hb.agent != "HostHeartbeat" || hb.params["margin"] != "4" {
		t.Errorf("hb: %+v", hb)
	}
}
