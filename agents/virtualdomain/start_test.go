package virtualdomain

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/agents/virtualdomain/cephapi"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

func TestStartCreatesTransientDomainAndIsIdempotent(t *testing.T) {
	h := newHarness(t)
	h.expect("start", ocf.Success)
	d := h.hv.domain("vm1")
	if d == nil || d.state != libvirt.StateRunning || d.persistent {
		t.Fatalf("domain after start: %+v", d)
	}
	if raw, _ := os.ReadFile(h.config); d.xml != string(raw) {
		t.Fatal("the domain was not created from the config file")
	}
	if mem, ok := h.record("vm1"); !ok || mem.Name != "vm1" || mem.UUID != testUUID {
		t.Fatalf("not remembered: %+v", mem)
	}
	h.expect("start", ocf.Success)
	if n := h.hv.called("CreateTransient"); n != 1 {
		t.Fatalf("second start created again (%d creates)", n)
	}
	h.expect("monitor", ocf.Success)
}

func TestStartUndefinesPersistentDefinitionAndKeepsConfig(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateShutoff, persistent: true})
	h.hv.onUndefine = func() { os.Remove(h.config) } // libvirt deletes files in its own folders
	h.expect("start", ocf.Success)
	if _, err := os.Stat(h.config); err != nil {
		t.Fatalf("config file not written back: %v", err)
	}
	if h.hv.called("Undefine") != 1 || h.hv.domain("vm1").persistent {
		t.Fatalf("calls %v", h.hv.callList())
	}
}

func TestStartCleansUpCrashedDomain(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateCrashed})
	h.expect("start", ocf.Success)
	if h.hv.called("Destroy") != 1 {
		t.Fatalf("calls %v", h.hv.callList())
	}
}

func TestStartLibvirtdDownFails(t *testing.T) {
	h := newHarness(t)
	h.hv.down()
	r := h.expect("start", ocf.ErrGeneric)
	if !strings.Contains(r.Reason, "cannot connect to libvirtd") {
		t.Fatalf("reason %q", r.Reason)
	}
}

func TestStartLibvirtdHungFailsInTime(t *testing.T) {
	t.Parallel()
	for _, op := range []string{"dial", "CreateTransient"} {
		t.Run(op, func(t *testing.T) {
			h := newHarness(t)
			h.set("OCF_RESKEY_CRM_meta_timeout", "3000")
			if op == "dial" {
				h.hv.dialHang = true
			} else {
				h.hv.hang[op] = true
			}
			r := h.expect("start", ocf.ErrGeneric)
			within(t, r, 3*time.Second)
		})
	}
}

func TestStartWaitsForMonitorScripts(t *testing.T) {
	h := newHarness(t)
	h.set("OCF_RESKEY_monitor_scripts", "/bin/true") // run by the fake: it says "booting" twice
	tries := 0
	h.runFunc = func([]string) (string, int, error) {
		tries++
		if tries < 3 {
			return "booting", 1, nil
		}
		return "", 0, nil
	}
	h.expect("start", ocf.Success)
	if tries != 3 {
		t.Fatalf("script ran %d times", tries)
	}
}

func TestStartRefusesImageHeldElsewhere(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/vm1-disk", testUUID)))
	h.set("OCF_RESKEY_CRM_meta_timeout", "6000")
	h.ceph.images["rbd/vm1-disk"] = cephapi.Status{Exists: true, Holders: []cephapi.Holder{holder("10.0.0.7", "client.4242", false)}}
	r := h.expect("start", ocf.ErrGeneric)
	within(t, r, 6*time.Second)
	if !strings.HasPrefix(r.Reason, "RBD image rbd/vm1-disk held by client.4242 at 10.0.0.7:0/1234 (watcher, another host)") {
		t.Fatalf("reason %q", r.Reason)
	}
	if h.hv.called("CreateTransient") != 0 {
		t.Fatal("the domain was created anyway")
	}
	// The monitors of the disk and its user were used.
	a := h.ceph.opened[0]
	if a.User != "kvmha" || strings.Join(a.MonHosts, ",") != "10.0.0.9:6789,mon2.example:3300" {
		t.Fatalf("ceph access %+v", a)
	}
}

// A holder that goes away (a dead client whose watch times out) lets the start proceed.
func TestStartWaitsForStaleHolder(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/vm1-disk", testUUID)))
	h.ceph.images["rbd/vm1-disk"] = cephapi.Status{Exists: true, Holders: []cephapi.Holder{holder("10.0.0.7", "client.4242", false)}}
	h.ceph.clearAfter = 1
	r := h.expect("start", ocf.Success)
	if !strings.Contains(r.Stderr, "waiting up to") {
		t.Fatalf("stderr %s", r.Stderr)
	}
}

func TestStartIgnoresBlocklistedHolderAndLocalReadOnlyDisks(t *testing.T) {
	h := newHarness(t)
	ro := strings.Replace(rbdDiskXML("vdb", "rbd/shared", testUUID), "<target", "<readonly/><target", 1)
	h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/vm1-disk", testUUID)+ro))
	h.ceph.images["rbd/vm1-disk"] = cephapi.Status{Exists: true, Holders: []cephapi.Holder{holder("10.0.0.7", "client.1", true)}}
	h.ceph.images["rbd/shared"] = cephapi.Status{Exists: true, Holders: []cephapi.Holder{holder("10.0.0.8", "client.2", false)}}
	h.expect("start", ocf.Success)
}

func TestStartRefusesMissingImageAndUnreachableCeph(t *testing.T) {
	h := newHarness(t)
	h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/missing", testUUID)))
	r := h.expect("start", ocf.ErrGeneric)
	if !strings.Contains(r.Reason, "rbd/missing (disk vda) does not exist") {
		t.Fatalf("reason %q", r.Reason)
	}
	h.ceph.openErr = errors.New("connect: timed out")
	r = h.expect("start", ocf.ErrGeneric)
	if !strings.Contains(r.Reason, "Ceph (client.kvmha) unreachable") {
		t.Fatalf("reason %q", r.Reason)
	}
}

func TestStartChecksVolumesOfRBDPools(t *testing.T) {
	h := newHarness(t)
	h.writeConfig(domainXML("vm1", testUUID, `<disk type='volume' device='disk'><source pool='cephpool' volume='vm1-vol'/><target dev='vda'/></disk>`))
	h.hv.pools["cephpool"] = `<pool type='rbd'><name>cephpool</name><source><name>rbd</name><host name='10.0.0.9'/><auth type='ceph' username='libvirt'><secret uuid='` + testUUID + `'/></auth></source></pool>`
	h.ceph.images["rbd/vm1-vol"] = cephapi.Status{Exists: true, Holders: []cephapi.Holder{holder("10.0.0.7", "client.9", false)}}
	h.set("OCF_RESKEY_CRM_meta_timeout", "4000")
	r := h.expect("start", ocf.ErrGeneric)
	if !strings.Contains(r.Reason, "rbd/vm1-vol held by client.9") || h.ceph.opened[0].User != "libvirt" {
		t.Fatalf("reason %q, access %+v", r.Reason, h.ceph.opened)
	}
}

func TestStartStoresCephKeyInSecret(t *testing.T) {
	h := newHarness(t)
	const other = "0b4a7f00-1111-4222-8333-444455556666"
	h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/a", testUUID)+rbdDiskXML("vdb", "rbd/b", other)))
	h.ceph.images["rbd/a"] = cephapi.Status{Exists: true}
	h.ceph.images["rbd/b"] = cephapi.Status{Exists: true}
	key := []byte("0123456789abcdef-raw-key")
	encoded := base64.StdEncoding.EncodeToString(key)
	keyring := filepath.Join(h.dir, "client.kvmha.keyring")
	os.WriteFile(keyring, []byte("[client.admin]\n\tkey = AAAA\n[client.kvmha]\n\tkey = "+encoded+"\n\tcaps mon = \"profile rbd\"\n"), 0o600)
	h.hv.secrets[other] = &fakeSecret{uuid: other, usage: "made by the operator"}
	h.set("OCF_RESKEY_ceph_user", "kvmha", "OCF_RESKEY_ceph_keyring", keyring, "HA_debug", "1")
	r := h.expect("start", ocf.Success)
	for _, u := range []string{testUUID, other} {
		s := h.hv.secrets[u]
		if s == nil || string(s.value) != string(key) {
			t.Fatalf("secret %s: %+v", u, s)
		}
	}
	if !strings.Contains(h.hv.secrets[testUUID].xml, `private="yes"`) || h.hv.secrets[other].xml != "" {
		t.Fatalf("defined %q / redefined the operator's secret", h.hv.secrets[testUUID].xml)
	}
	if strings.Contains(r.Stderr, encoded) || strings.Contains(r.Stderr, string(key)) {
		t.Fatal("the key appears in the output")
	}
}

func TestStartRefusesWrongKeyring(t *testing.T) {
	h := newHarness(t)
	h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/a", testUUID)))
	keyring := filepath.Join(h.dir, "k")
	os.WriteFile(keyring, []byte("[client.other]\nkey = QUJD\n"), 0o600)
	h.set("OCF_RESKEY_ceph_user", "kvmha", "OCF_RESKEY_ceph_keyring", keyring)
	r := h.expect("start", ocf.ErrInstalled)
	if !strings.Contains(r.Reason, "no key for client.kvmha") {
		t.Fatalf("reason %q", r.Reason)
	}
}

func TestStartResources(t *testing.T) {
	h := newHarness(t)
	h.writeConfig(domainXML("vm1", testUUID, `<disk type='volume'><source pool='images' volume='v'/><target dev='vda'/></disk>
<interface type='network'><source network='br-vm'/></interface><interface type='network'><source network='br-vm'/></interface>`))
	h.hv.pools["images"] = `<pool type='dir'><name>images</name></pool>`
	h.set("OCF_RESKEY_start_resources", "true")
	h.expect("start", ocf.Success)
	if got := strings.Join(h.hv.started, ","); got != "pool images,network br-vm" {
		t.Fatalf("started %s", got)
	}
}

func TestStartRestoresSnapshot(t *testing.T) {
	h := newHarness(t)
	snap := filepath.Join(h.dir, "snap")
	os.Mkdir(snap, 0o755)
	state := filepath.Join(snap, "vm1.state")
	os.WriteFile(state, []byte("vm1"), 0o600)
	h.set("OCF_RESKEY_snapshot", snap)
	h.expect("start", ocf.Success)
	if h.hv.restored != state || h.hv.called("CreateTransient") != 0 {
		t.Fatalf("restored %q, calls %v", h.hv.restored, h.hv.callList())
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatal("state file left behind")
	}
}

func TestStartBadConfig(t *testing.T) {
	h := newHarness(t)
	h.writeConfig("<domain><devices/></domain>")
	h.expect("start", ocf.ErrConfigured)
	h.writeConfig("not xml")
	h.expect("start", ocf.ErrConfigured)
	h.set("OCF_RESKEY_config", filepath.Join(h.dir, "absent.xml"))
	h.expect("start", ocf.ErrInstalled)
}
