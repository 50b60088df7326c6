package virtualdomain

import (
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

func TestUtilizationWrittenOnlyWhenChanged(t *testing.T) {
	h := newHarness(t)
	d := h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning, vcpus: 2, maxMemKiB: 2 << 20})
	h.set("OCF_RESKEY_CRM_meta_interval", "10000", "OCF_RESKEY_CRM_meta_on_node", "node1")
	cib := map[string]string{"cpu": "2"} // what the CIB holds
	h.runFunc = func(argv []string) (string, int, error) {
		attr := ""
		for _, a := range argv {
			if v, ok := strings.CutPrefix(a, "--get-parameter="); ok {
				return cib[v], 0, nil
			}
			if v, ok := strings.CutPrefix(a, "--set-parameter="); ok {
				attr = v
			}
			if v, ok := strings.CutPrefix(a, "--parameter-value="); ok {
				cib[attr] = v
			}
		}
		return "", 0, nil
	}
	h.expect("monitor", ocf.Success)
	// cpu already right: read only; host_memory and hv_memory read and set.
	if n := len(h.commands()); n != 5 || cib["host_memory"] != "2048" || cib["hv_memory"] != "2048" {
		t.Fatalf("%d commands %v, cib %v", n, h.commands(), cib)
	}
	h.expect("monitor", ocf.Success)
	if n := len(h.commands()); n != 5 {
		t.Fatalf("unchanged values ran crm_resource again: %v", h.commands()[5:])
	}
	d.vcpus = 4
	h.expect("monitor", ocf.Success)
	if n := len(h.commands()); n != 7 || cib["cpu"] != "4" {
		t.Fatalf("%v, cib %v", h.commands(), cib)
	}
}

func TestUtilizationOnlyUnderTheCluster(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.expect("monitor", ocf.Success)
	if len(h.commands()) != 0 {
		t.Fatalf("ran %v without a cluster", h.commands())
	}
}

func TestUtilizationUnset(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.set("OCF_RESKEY_CRM_meta_on_node", "node1", "OCF_RESKEY_autoset_utilization_cpu", "false",
		"OCF_RESKEY_unset_utilization_cpu", "true", "OCF_RESKEY_autoset_utilization_host_memory", "false",
		"OCF_RESKEY_autoset_utilization_hv_memory", "no")
	h.expect("monitor", ocf.Success)
	h.expect("monitor", ocf.Success)
	cmds := h.commands()
	if len(cmds) != 1 || strings.Join(cmds[0], " ") != "crm_resource --resource=vm1 --utilization --delete-parameter=cpu" {
		t.Fatalf("%v", cmds)
	}
}

func TestUtilizationFailureIsRetried(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.set("OCF_RESKEY_CRM_meta_on_node", "node1", "OCF_RESKEY_autoset_utilization_host_memory", "false",
		"OCF_RESKEY_autoset_utilization_hv_memory", "false")
	h.runFunc = func([]string) (string, int, error) { return "Error: could not connect to the CIB", 102, nil }
	r := h.expect("monitor", ocf.Success)
	if !strings.Contains(r.Stderr, "cannot set utilization attribute cpu") {
		t.Fatalf("stderr %s", r.Stderr)
	}
	h.expect("monitor", ocf.Success)
	if len(h.commands()) != 4 {
		t.Fatalf("%v", h.commands())
	}
}
