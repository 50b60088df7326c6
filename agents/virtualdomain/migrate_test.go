package virtualdomain

import (
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// ocf-tester calls the migrations with no target or source: they must fail at once.
func TestMigrateWithoutPeerFailsAtOnce(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	for _, action := range []string{"migrate_to", "migrate_from"} {
		r := h.expect(action, ocf.ErrArgs)
		within(t, r, 100*time.Millisecond)
	}
	if h.hv.called("Migrate") != 0 {
		t.Fatal("migrated without a target")
	}
}

func TestMigrateToNotActiveFails(t *testing.T) {
	h := newHarness(t)
	h.set("OCF_RESKEY_CRM_meta_migrate_target", "node2")
	r := h.expect("migrate_to", ocf.ErrGeneric)
	if !strings.Contains(r.Reason, "not active locally") {
		t.Fatalf("reason %q", r.Reason)
	}
}

func TestMigrateToPeerToPeer(t *testing.T) {
	h := newHarness(t)
	h.expect("start", ocf.Success)
	h.set("OCF_RESKEY_CRM_meta_migrate_target", "node2.example.com",
		"OCF_RESKEY_migration_transport", "tcp", "OCF_RESKEY_migration_network_suffix", "-mig",
		"OCF_RESKEY_migrateport", "49160", "OCF_RESKEY_migration_speed", "100",
		"OCF_RESKEY_migrate_options", "--unsafe --auto-converge")
	h.expect("migrate_to", ocf.Success)
	spec := h.hv.migrateSpec
	if spec.DestURI != "qemu+tcp://node2-mig.example.com/system" || spec.MigrateURI != "tcp:node2-mig.example.com:49160" ||
		spec.BandwidthMiBs != 100 || spec.Flags != libvirt.MigrateUnsafe|libvirt.MigrateAutoConverge {
		t.Fatalf("spec %+v", spec)
	}
	if _, ok := h.record("vm1"); ok {
		t.Fatal("the source still remembers the domain")
	}
	// Pacemaker stops the source afterwards: nothing is left to stop.
	h.expect("stop", ocf.Success)
}

func TestMigrateToSetsDowntimeWhileRunning(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.hv.migrateResult = make(chan error, 1)
	go func() {
		for h.hv.called("SetMigrationMaxDowntime") == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		h.hv.migrateResult <- nil
	}()
	h.set("OCF_RESKEY_CRM_meta_migrate_target", "node2", "OCF_RESKEY_migration_downtime", "300")
	h.expect("migrate_to", ocf.Success)
	if h.hv.downtime != 300 {
		t.Fatalf("downtime %d", h.hv.downtime)
	}
}

// A migration that does not finish is aborted before the deadline; the
// guest keeps running here.
func TestMigrateToAbortsStalledMigration(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.hv.migrateResult = make(chan error, 1)
	h.set("OCF_RESKEY_CRM_meta_migrate_target", "node2", "OCF_RESKEY_CRM_meta_timeout", "8000")
	r := h.expect("migrate_to", ocf.ErrGeneric)
	within(t, r, 8*time.Second)
	if !h.hv.aborted || !strings.Contains(r.Reason, "aborted") || h.hv.domain("vm1") == nil {
		t.Fatalf("aborted %v, reason %q", h.hv.aborted, r.Reason)
	}
}

func TestMigrateToUnknownOptionFails(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.set("OCF_RESKEY_CRM_meta_migrate_target", "node2", "OCF_RESKEY_migrate_options", "--copy-storage-all")
	r := h.expect("migrate_to", ocf.ErrConfigured)
	if !strings.Contains(r.Reason, "--copy-storage-all") {
		t.Fatalf("reason %q", r.Reason)
	}
	h.expect("monitor", ocf.Success) // only the migration needs the options
}

func TestMigrateFrom(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.set("OCF_RESKEY_CRM_meta_migrate_source", "node1", "OCF_RESKEY_CRM_meta_timeout", "3000")
	r := h.expect("migrate_from", ocf.ErrGeneric)
	within(t, r, 3*time.Second)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.expect("migrate_from", ocf.Success)
	if _, ok := h.record("vm1"); !ok {
		t.Fatal("the target does not remember the domain")
	}
}

func TestPlanMigration(t *testing.T) {
	base := settings{uri: "qemu:///system"}
	with := func(f func(*settings)) settings { s := base; f(&s); return s }
	tests := []struct {
		name       string
		s          settings
		dest, data string
	}{
		{"defaults", base, "qemu://node2/system", ""},
		{"transport", with(func(s *settings) { s.migrationTransport = "ssh" }), "qemu+ssh://node2/system", ""},
		{"user", with(func(s *settings) { s.migrationTransport = "tcp"; s.migrationUser = "migrator" }), "qemu+tcp://migrator@node2/system", ""},
		{"bad user ignored", with(func(s *settings) { s.migrationUser = "Root!" }), "qemu://node2/system", ""},
		{"local socket dropped", with(func(s *settings) { s.uri = "qemu:///system?socket=/run/x"; s.migrationTransport = "tcp" }), "qemu+tcp://node2/system", ""},
		{"port kept", with(func(s *settings) { s.uri = "qemu+tls://node1:1600/system"; s.migrationTransport = "tcp" }), "qemu+tls+tcp://node2:1600/system", ""},
		{"remoteuri", with(func(s *settings) { s.remoteURI = "qemu+tcp://%n-lan/system"; s.migrationNetSuffix = "-mig" }), "qemu+tcp://node2-lan/system", "tcp:node2-mig:49155"},
		{"suffix", with(func(s *settings) { s.migrationNetSuffix = "-mig"; s.migratePort = 50000 }), "qemu://node2-mig/system", "tcp:node2-mig:50000"},
		{"migrateuri", with(func(s *settings) { s.migrateURI = "tcp://%n:4000"; s.migrateOptions = "--migrateuri=tcp://x" }), "qemu://node2/system", "tcp://node2:4000"},
		{"option migrateuri", with(func(s *settings) { s.migrateOptions = "--live --migrateuri=tcp://%n-fast:4000" }), "qemu://node2/system", "tcp://node2-fast:4000"},
		{"xen", with(func(s *settings) { s.uri = "xen:///system"; s.migrationNetSuffix = "-m" }), "xen://node2-m/system", "node2-m"},
	}
	for _, tc := range tests {
		p, err := planMigration(tc.s, "node2", func() int { return 49155 })
		if err != nil || p.destURI != tc.dest || p.migrateURI != tc.data {
			t.Errorf("%s: got %q %q %v, want %q %q", tc.name, p.destURI, p.migrateURI, err, tc.dest, tc.data)
		}
	}
	if _, err := planMigration(with(func(s *settings) { s.uri = "lxc:///"; s.migrationNetSuffix = "-m" }), "n", defaultRandomPort); err == nil {
		t.Error("lxc with a migration network accepted")
	}
	for i := 0; i < 100; i++ {
		if p := defaultRandomPort(); p < 49152 || p > 49215 {
			t.Fatalf("random port %d", p)
		}
	}
}
