package virtualdomain

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// fakeCIB holds utilization attributes and logs each access ("get vm1 cpu",
// "set vm1 cpu 2", "delete vm1 cpu").
type fakeCIB struct {
	mu    sync.Mutex
	attrs map[string]string
	err   error // every access fails with it
	ops   []string
}

func (c *fakeCIB) access(op string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = append(c.ops, op)
	return c.err
}

func (c *fakeCIB) Get(_ context.Context, resource, name string) (string, error) {
	if err := c.access("get " + resource + " " + name); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.attrs[name]
	if !ok {
		return "", errors.New("no such attribute")
	}
	return v, nil
}

func (c *fakeCIB) Set(_ context.Context, resource, name, value string) error {
	if err := c.access("set " + resource + " " + name + " " + value); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attrs[name] = value
	return nil
}

func (c *fakeCIB) Delete(_ context.Context, resource, name string) error {
	if err := c.access("delete " + resource + " " + name); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.attrs, name)
	return nil
}

func (c *fakeCIB) calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ops...)
}

func (c *fakeCIB) attr(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attrs[name]
}

func TestUtilizationWrittenOnlyWhenChanged(t *testing.T) {
	h := newHarness(t)
	d := h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning, vcpus: 2, maxMemKiB: 2 << 20})
	h.set("OCF_RESKEY_CRM_meta_interval", "10000", "OCF_RESKEY_CRM_meta_on_node", "node1")
	h.cib.attrs["cpu"] = "2" // what the CIB holds
	h.expect("monitor", ocf.Success)
	// cpu already right: read only; host_memory and hv_memory read and set.
	if n := len(h.cib.calls()); n != 5 || h.cib.attr("host_memory") != "2048" || h.cib.attr("hv_memory") != "2048" {
		t.Fatalf("%d calls %v, cib %v", n, h.cib.calls(), h.cib.attrs)
	}
	h.expect("monitor", ocf.Success)
	if n := len(h.cib.calls()); n != 5 {
		t.Fatalf("unchanged values were written again: %v", h.cib.calls()[5:])
	}
	d.vcpus = 4
	h.expect("monitor", ocf.Success)
	if n := len(h.cib.calls()); n != 7 || h.cib.attr("cpu") != "4" {
		t.Fatalf("%v, cib %v", h.cib.calls(), h.cib.attrs)
	}
	if len(h.commands()) != 0 {
		t.Fatalf("ran %v", h.commands())
	}
}

func TestUtilizationOnlyUnderTheCluster(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.expect("monitor", ocf.Success)
	if len(h.commands()) != 0 || len(h.cib.calls()) != 0 {
		t.Fatalf("ran %v, CIB %v without a cluster", h.commands(), h.cib.calls())
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
	if calls := h.cib.calls(); strings.Join(calls, ",") != "delete vm1 cpu" {
		t.Fatalf("%v", calls)
	}
}

func TestUtilizationFailureIsRetried(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.set("OCF_RESKEY_CRM_meta_on_node", "node1", "OCF_RESKEY_autoset_utilization_host_memory", "false",
		"OCF_RESKEY_autoset_utilization_hv_memory", "false")
	h.cib.err = errors.New("crm_resource --resource vm1: Error: could not connect to the CIB (exit 102)")
	r := h.expect("monitor", ocf.Success)
	if !strings.Contains(r.Stderr, "cannot set utilization attribute cpu") {
		t.Fatalf("stderr %s", r.Stderr)
	}
	h.expect("monitor", ocf.Success)
	if calls := h.cib.calls(); len(calls) != 4 {
		t.Fatalf("%v", calls)
	}
}
