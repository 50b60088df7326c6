package virtualdomain

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/ocf"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		params []string
		want   ocf.ExitCode
		reason string
	}{
		{"ok", nil, ocf.Success, ""},
		{"force_stop and snapshot", []string{"OCF_RESKEY_force_stop", "1", "OCF_RESKEY_snapshot", "/var/snap"}, ocf.ErrConfigured, "can not be used together"},
		{"stateless without backingfile", []string{"OCF_RESKEY_stateless", "true"}, ocf.ErrConfigured, "without a backing file"},
		{"backingfile", []string{"OCF_RESKEY_backingfile", "/img/base.qcow2"}, ocf.ErrConfigured, "backingfile: not honoured"},
		{"copyindirs", []string{"OCF_RESKEY_copyindirs", "/etc"}, ocf.ErrConfigured, "copyindirs: not honoured"},
		{"shutdown_mode", []string{"OCF_RESKEY_shutdown_mode", "acpi,halt"}, ocf.ErrConfigured, "halt"},
		{"speed", []string{"OCF_RESKEY_migration_speed", "-1"}, ocf.ErrConfigured, "migration_speed"},
		{"downtime", []string{"OCF_RESKEY_migration_downtime", "x"}, ocf.ErrConfigured, "not an integer"},
		{"port", []string{"OCF_RESKEY_migrateport", "70000"}, ocf.ErrConfigured, "migrateport"},
		{"hypervisor", []string{"OCF_RESKEY_hypervisor", "qemu+ext://h/system"}, ocf.ErrConfigured, "not supported"},
		{"hypervisor ssh key", []string{"OCF_RESKEY_hypervisor", "qemu+ssh://root@h/system?keyfile=/nonexistent/key"}, ocf.ErrInstalled, "hypervisor: ssh key \"/nonexistent/key\": no such file"},
		{"hypervisor ssh key type", []string{"OCF_RESKEY_hypervisor", "qemu+ssh://root@h/system?keyfile=/dev/null"}, ocf.ErrConfigured, "hypervisor: ssh key \"/dev/null\": not a regular file"},
		{"migrate_options", []string{"OCF_RESKEY_migrate_options", "--live --timeout 30"}, ocf.ErrConfigured, "--timeout 30"},
		{"keyring", []string{"OCF_RESKEY_ceph_keyring", "/nonexistent/keyring"}, ocf.ErrInstalled, "ceph_keyring"},
		{"config missing", []string{"OCF_RESKEY_config", "/nonexistent/vm.xml"}, ocf.ErrInstalled, "does not exist"},
		{"config missing param", []string{"OCF_RESKEY_config", ""}, ocf.ErrConfigured, "config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.set(tc.params...)
			r := h.expect("validate-all", tc.want)
			if !strings.Contains(r.Reason, tc.reason) {
				t.Fatalf("reason %q, want %q", r.Reason, tc.reason)
			}
		})
	}
}

func TestValidateKeyringUserMismatch(t *testing.T) {
	h := newHarness(t)
	h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/a", testUUID)))
	keyring := filepath.Join(h.dir, "keyring")
	writeTestFile(t, keyring, "[client.libvirt]\nkey = QUJD\n")
	h.set("OCF_RESKEY_ceph_user", "libvirt", "OCF_RESKEY_ceph_keyring", keyring)
	r := h.expect("validate-all", ocf.ErrConfigured)
	if !strings.Contains(r.Reason, "authenticates as client.kvmha") {
		t.Fatalf("reason %q", r.Reason)
	}
}

// A probe on a node without the config file reports "not running".
func TestProbeWithoutConfigIsNotRunning(t *testing.T) {
	h := newHarness(t)
	h.set("OCF_RESKEY_config", "/nonexistent/vm.xml", "OCF_RESKEY_CRM_meta_interval", "0")
	h.expect("monitor", ocf.NotRunning)
}

func TestAgentDeclaration(t *testing.T) {
	a := newAgent(newHarness(t).deps())
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
	// The 27 parameters of heartbeat:VirtualDomain 4.12, then kvmha's.
	inherited := []string{"config", "hypervisor", "force_stop", "migration_transport", "migration_user",
		"migration_downtime", "migration_speed", "migration_network_suffix", "migrateuri", "migrate_options",
		"monitor_scripts", "autoset_utilization_cpu", "autoset_utilization_host_memory",
		"autoset_utilization_hv_memory", "unset_utilization_cpu", "unset_utilization_host_memory",
		"unset_utilization_hv_memory", "migrateport", "remoteuri", "save_config_on_stop",
		"sync_config_on_stop", "snapshot", "backingfile", "stateless", "copyindirs", "shutdown_mode",
		"start_resources"}
	want := append(inherited, "ceph_conf", "ceph_user", "ceph_keyring", "ceph_mon_host", "heartbeat")
	if len(a.Params) != len(want) {
		t.Fatalf("%d parameters, want %d", len(a.Params), len(want))
	}
	for i, p := range a.Params {
		if p.Name != want[i] {
			t.Errorf("parameter %d is %s, want %s", i, p.Name, want[i])
		}
	}
	md := a.MetaData()
	for _, s := range []string{`<action name="migrate_to" timeout="120s"/>`, `<action name="start" timeout="90s"/>`,
		`name="force_stop"`, `<content type="boolean" default="0"/>`} {
		if !strings.Contains(md, s) {
			t.Errorf("meta-data lacks %s", s)
		}
	}
}

// TestSSHHypervisorIsRemote: a hypervisor reached over ssh on another host
// runs its guests' qemu there, so stop and monitor never judge them by this
// host's /proc; ssh to this host is local, as tcp to it is.
func TestSSHHypervisorIsRemote(t *testing.T) {
	v := &vd{deps: newHarness(t).deps()}
	for uri, local := range map[string]bool{
		"qemu+ssh://root@kvm2.example/system":                  false,
		"qemu+ssh://fence@192.0.2.7:2222/system?keyfile=/k":    false,
		"qemu+libssh2://root@otherhost/system?known_hosts=/kh": false,
		"qemu+ssh://root@localhost/system":                     true,
		"qemu+ssh://root@127.0.0.1/system?socket=/run/x/sock":  true,
	} {
		if got := v.isLocalURI(uri); got != local {
			t.Errorf("isLocalURI(%q) = %v, want %v", uri, got, local)
		}
		why := v.whyNotLocal(target{name: "vm1", uri: uri})
		if (why == "") != local {
			t.Errorf("whyNotLocal(%q) = %q", uri, why)
		}
	}
}
