package virtualdomain

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/files/filestest"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// Records: what start keeps so that stop can stop the domain whatever the
// parameters say by then.

func TestStartRecordsWhatStopNeeds(t *testing.T) {
	h := newHarness(t)
	h.expect("start", ocf.Success)
	rec, ok := h.record("vm1")
	want := domainRecord{Name: "vm1", UUID: testUUID, URI: testURI, LocalQemu: true, Config: h.config}
	if !ok || rec != want {
		t.Fatalf("record %+v, want %+v", rec, want)
	}
	if info, err := os.Stat(filepath.Join(h.rscTmp(), "kvmha-VirtualDomain-vm1.record")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("record file: %v %v", info, err)
	}
}

// The start refuses to create a domain it could not record.
func TestStartWithoutRecordDoesNotStart(t *testing.T) {
	h := newHarness(t)
	writeTestFile(t, filepath.Join(h.dir, "file"), "")
	h.set("HA_RSCTMP", filepath.Join(h.dir, "file", "rsctmp"))
	r := h.expect("start", ocf.ErrGeneric)
	if h.hv.called("CreateTransient") != 0 || !strings.Contains(r.Reason, "record") {
		t.Fatalf("reason %q, calls %v", r.Reason, h.hv.callList())
	}
}

// The example: a stop with a parameter that does not parse stops
// the domain this node started, gracefully, with the default settings.
func TestStopWithTypoStopsRecordedDomain(t *testing.T) {
	for _, typo := range [][]string{
		{"OCF_RESKEY_migration_downtime", "abc"}, // the runtime's type check
		{"OCF_RESKEY_force_stop", "maybe"},       // not even the default is read from it
		{"OCF_RESKEY_shutdown_mode", "halt"},     // stop's own check
		{"OCF_RESKEY_hypervisor", "qemu+ssh://elsewhere/system"},
		{"OCF_RESKEY_snapshot", "relative/dir"}, // libvirtd would save relative to its own folder
	} {
		t.Run(typo[0], func(t *testing.T) {
			h := newHarness(t)
			h.expect("start", ocf.Success)
			h.set(typo...)
			r := h.expect("stop", ocf.Success)
			if h.hv.domain("vm1") != nil {
				t.Fatalf("domain left running:\n%s", r.Stderr)
			}
			if h.hv.called("Shutdown mode=0") != 1 || h.hv.called("Destroy") != 0 || h.hv.called("Save") != 0 {
				t.Fatalf("not a graceful stop with the defaults: %v", h.hv.callList())
			}
			if !slices.Contains(h.hv.callList(), "dial "+testURI) {
				t.Fatalf("not stopped on the recorded URI: %v", h.hv.callList())
			}
			if _, ok := h.record("vm1"); ok {
				t.Fatal("record left after the stop")
			}
			// Stopped and forgotten: the same stop now has nothing to do.
			h.expect("stop", ocf.Success)
		})
	}
}

// Without a record, a stop whose parameters cannot be used asks nobody.
func TestStopWithTypoWithoutRecordSucceeds(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.set("OCF_RESKEY_migration_downtime", "abc")
	h.expect("stop", ocf.Success)
	h.set("OCF_RESKEY_migration_downtime", "0", "OCF_RESKEY_hypervisor", "bogus")
	h.expect("stop", ocf.Success)
	if calls := h.hv.callList(); len(calls) != 0 {
		t.Fatalf("calls %v", calls)
	}
}

// A record that cannot be parsed proves nothing: the stop fails rather
// than guess.
func TestStopWithTypoAndCorruptRecordFails(t *testing.T) {
	h := newHarness(t)
	os.MkdirAll(h.rscTmp(), 0o755)
	writeTestFile(t, filepath.Join(h.rscTmp(), "kvmha-VirtualDomain-vm1.record"), "{not json")
	h.set("OCF_RESKEY_migration_downtime", "abc")
	r := h.expect("stop", ocf.ErrGeneric)
	if !strings.HasPrefix(r.Reason, "cannot tell which domain to stop: corrupt record") {
		t.Fatalf("reason %q", r.Reason)
	}
}

// A guest started by a version that kept a .domain file is stopped too,
// and the file removed with the record.
func TestStopLegacyRecord(t *testing.T) {
	legacy := func(h *harness) string {
		os.MkdirAll(h.rscTmp(), 0o755)
		path := filepath.Join(h.rscTmp(), "kvmha-VirtualDomain-vm1.domain")
		writeTestFile(t, path, "vm1\n"+testUUID+"\n")
		return path
	}
	t.Run("unreadable config", func(t *testing.T) {
		h := newHarness(t)
		path := legacy(h)
		h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning, stopsOnShutdown: true})
		h.set("OCF_RESKEY_config", filepath.Join(h.dir, "gone.xml"))
		h.expect("stop", ocf.Success)
		if h.hv.domain("vm1") != nil || fileExists(path) {
			t.Fatalf("domain %v, legacy file left: %v", h.hv.domain("vm1"), fileExists(path))
		}
	})
	t.Run("bad hypervisor", func(t *testing.T) {
		h := newHarness(t)
		path := legacy(h)
		h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning, stopsOnShutdown: true})
		h.set("OCF_RESKEY_hypervisor", "a b/c")
		h.expect("stop", ocf.Success)
		if h.hv.domain("vm1") != nil || fileExists(path) {
			t.Fatalf("domain %v, legacy file left: %v", h.hv.domain("vm1"), fileExists(path))
		}
		// The old file named no URI: the default one is used.
		if !slices.Contains(h.hv.callList(), "dial qemu:///system") {
			t.Fatalf("calls %v", h.hv.callList())
		}
	})
	t.Run("monitor turns it into a record", func(t *testing.T) {
		h := newHarness(t)
		legacy(h)
		h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
		h.set("OCF_RESKEY_CRM_meta_interval", "10000")
		h.expect("monitor", ocf.Success)
		if rec, ok := h.record("vm1"); !ok || rec.URI != testURI || !rec.LocalQemu {
			t.Fatalf("record %+v %v", rec, ok)
		}
	})
}

// A probe that finds the domain running records it: a later stop with a
// typo must find it.
func TestProbeRecordsRunningDomain(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning, stopsOnShutdown: true})
	h.set("OCF_RESKEY_CRM_meta_interval", "0")
	h.expect("monitor", ocf.Success)
	h.set("OCF_RESKEY_migration_speed", "fast")
	h.expect("stop", ocf.Success)
	if h.hv.domain("vm1") != nil {
		t.Fatal("domain left running")
	}
}

// The configuration now names another domain than the one this node
// started: stop stops both, and a monitor of the new name cannot hide the
// old one.
func TestStopRecordedAndConfiguredDomainsDiffer(t *testing.T) {
	h := newHarness(t)
	h.expect("start", ocf.Success)
	h.writeConfig(domainXML("vm2", "", ""))
	h.hv.add(&fakeDomain{name: "vm2", state: libvirt.StateRunning, stopsOnShutdown: true})
	r := h.expect("stop", ocf.Success)
	if h.hv.domain("vm1") != nil || h.hv.domain("vm2") != nil || !strings.Contains(r.Stderr, "stopping both") {
		t.Fatalf("vm1 %v vm2 %v\n%s", h.hv.domain("vm1"), h.hv.domain("vm2"), r.Stderr)
	}
}

// A monitor of an edited config file (another name, no UUID) keeps the
// record of the domain this node started.
func TestMonitorKeepsRecordOfAnotherDomain(t *testing.T) {
	h := newHarness(t)
	h.expect("start", ocf.Success)
	h.writeConfig(domainXML("vm2", "", ""))
	h.hv.add(&fakeDomain{name: "vm2", state: libvirt.StateRunning})
	h.set("OCF_RESKEY_CRM_meta_interval", "10000")
	h.expect("monitor", ocf.Success)
	if rec, ok := h.record("vm1"); !ok || rec.Name != "vm1" {
		t.Fatalf("record %+v %v", rec, ok)
	}
}

// A config path that is a FIFO (or a hung mount) must not block stop or a
// probe: the read is refused or abandoned, and the record decides.
func TestConfigFIFO(t *testing.T) {
	fifo := func(h *harness) string { return filestest.FIFO(t, filepath.Join(h.dir, "fifo")) }
	t.Run("stop without record", func(t *testing.T) {
		h := newHarness(t)
		h.set("OCF_RESKEY_config", fifo(h), "OCF_RESKEY_CRM_meta_timeout", "4000")
		r := h.expect("stop", ocf.Success)
		within(t, r, time.Second)
		if len(h.hv.callList()) != 0 {
			t.Fatalf("calls %v", h.hv.callList())
		}
	})
	t.Run("stop with record", func(t *testing.T) {
		h := newHarness(t)
		h.expect("start", ocf.Success)
		h.set("OCF_RESKEY_config", fifo(h), "OCF_RESKEY_CRM_meta_timeout", "4000")
		r := h.expect("stop", ocf.Success)
		within(t, r, 4*time.Second)
		if h.hv.domain("vm1") != nil || !strings.Contains(r.Stderr, "which this node started") {
			t.Fatalf("domain left running:\n%s", r.Stderr)
		}
	})
	t.Run("probe without record", func(t *testing.T) {
		h := newHarness(t)
		h.set("OCF_RESKEY_config", fifo(h), "OCF_RESKEY_CRM_meta_interval", "0", "OCF_RESKEY_CRM_meta_timeout", "4000")
		r := h.expect("monitor", ocf.NotRunning)
		within(t, r, time.Second)
	})
	t.Run("probe with record", func(t *testing.T) {
		h := newHarness(t)
		h.expect("start", ocf.Success)
		h.set("OCF_RESKEY_config", fifo(h), "OCF_RESKEY_CRM_meta_interval", "0", "OCF_RESKEY_CRM_meta_timeout", "4000")
		h.expect("monitor", ocf.Success)
		h.hv.domain("vm1").state = libvirt.StateShutoff
		h.expect("monitor", ocf.NotRunning)
	})
	t.Run("start and validate-all name the parameter", func(t *testing.T) {
		h := newHarness(t)
		h.set("OCF_RESKEY_config", fifo(h))
		for _, action := range []string{"validate-all", "start"} {
			r := h.expect(action, ocf.ErrConfigured)
			if !strings.HasPrefix(r.Reason, "config: ") || !strings.Contains(r.Reason, "FIFO") {
				t.Fatalf("%s: reason %q", action, r.Reason)
			}
		}
	})
}

// A probe whose parameters cannot be used judges the domain this node's
// record names instead of reporting "not running" for it.
func TestProbeWithUnusableSettingsJudgesRecordedDomain(t *testing.T) {
	h := newHarness(t)
	h.expect("start", ocf.Success)
	h.set("OCF_RESKEY_shutdown_mode", "halt", "OCF_RESKEY_CRM_meta_interval", "0")
	r := h.expect("monitor", ocf.Success)
	if !strings.Contains(r.Stderr, "which this node started") {
		t.Fatalf("stderr %s", r.Stderr)
	}
	h.set("OCF_RESOURCE_INSTANCE", "other") // no record
	h.expect("monitor", ocf.NotRunning)
	// A recurring monitor reports the configuration error.
	h.set("OCF_RESOURCE_INSTANCE", "vm1", "OCF_RESKEY_CRM_meta_interval", "10000")
	r = h.expect("monitor", ocf.ErrGeneric)
	if !strings.HasPrefix(r.Reason, "shutdown_mode: ") {
		t.Fatalf("reason %q", r.Reason)
	}
}

// The process table of this host says nothing about the guests of another
// host's libvirtd: with a remote URI that does not answer, stop and monitor
// fail, in time, saying why.
func TestRemoteHypervisorUnreachableIsNotStopped(t *testing.T) {
	unreachable := &libvirt.Error{Op: "connect", Kind: libvirt.ErrUnreachable, Err: errors.New("no route to host")}
	for _, uri := range []string{"qemu+tcp://192.0.2.7/system", "qemu+tls://otherhost.example/system"} {
		t.Run(uri, func(t *testing.T) {
			h := newHarness(t)
			h.set("OCF_RESKEY_hypervisor", uri, "OCF_RESKEY_CRM_meta_timeout", "4000")
			h.hv.dialErr = unreachable
			for _, tc := range []struct {
				action, interval string
			}{{"stop", ""}, {"monitor", "0"}, {"monitor", "10000"}} {
				h.set("OCF_RESKEY_CRM_meta_interval", tc.interval)
				r := h.expect(tc.action, ocf.ErrGeneric)
				within(t, r, 4*time.Second)
				if !strings.Contains(r.Reason, "does not answer, and its qemu") {
					t.Fatalf("%s: reason %q", tc.action, r.Reason)
				}
			}
		})
	}
	// A TCP URI of this host's own libvirtd still has the fallback.
	h := newHarness(t)
	h.set("OCF_RESKEY_hypervisor", "qemu+tcp://10.0.0.1/system")
	h.hv.dialErr = unreachable
	h.expect("stop", ocf.Success)
	h.set("OCF_RESKEY_CRM_meta_interval", "10000")
	h.expect("monitor", ocf.NotRunning)
}

// A domain recorded as started on a remote libvirtd is not judged by this
// host's /proc either, even when only the record is left.
func TestStopRecordedRemoteDomainUnreachableFails(t *testing.T) {
	h := newHarness(t)
	h.set("OCF_RESKEY_hypervisor", "qemu+tcp://192.0.2.7/system")
	h.expect("start", ocf.Success)
	if rec, _ := h.record("vm1"); rec.LocalQemu {
		t.Fatalf("record %+v says local", rec)
	}
	h.hv.down()
	h.set("OCF_RESKEY_migration_downtime", "abc", "OCF_RESKEY_CRM_meta_timeout", "4000")
	r := h.expect("stop", ocf.ErrGeneric)
	within(t, r, 4*time.Second)
	if _, ok := h.record("vm1"); !ok {
		t.Fatal("record dropped although the domain may run")
	}
}

func TestIsLocalURI(t *testing.T) {
	v := &vd{deps: newHarness(t).deps()}
	host, _ := os.Hostname()
	for uri, want := range map[string]bool{
		"qemu:///system": true,
		"qemu:///system?socket=/run/x/libvirt-sock":   true,
		"qemu+unix:///system":                         true,
		"qemu+tcp://localhost/system":                 true,
		"qemu+tcp://127.0.0.1:16509/system":           true,
		"qemu+tls://[::1]/system":                     true,
		"qemu+tcp://10.0.0.1/system":                  true, // an address of this host (the harness)
		"qemu+tcp://" + host + "/system":              true,
		"qemu+tcp://192.0.2.7/system":                 false,
		"qemu+tls://otherhost.example/system":         false,
		"qemu://otherhost/system":                     false, // TLS by libvirt's rule
		"qemu+tcp://" + host + ".elsewhere.example/x": false,
		"a b/c": false,
	} {
		if got := v.isLocalURI(uri); got != want {
			t.Errorf("isLocalURI(%q) = %v, want %v", uri, got, want)
		}
	}
}

// validate-all refuses what start would trip on, naming the parameter.
func TestValidateFiles(t *testing.T) {
	dir := t.TempDir()
	fifoPath := filestest.FIFO(t, filepath.Join(dir, "fifo"))
	notExec := filepath.Join(dir, "script")
	writeTestFile(t, notExec, "#!/bin/sh\n")
	for _, tc := range []struct {
		param, value string
		want         ocf.ExitCode
		says         string
	}{
		{"ceph_conf", dir, ocf.ErrConfigured, "a directory"},
		{"ceph_conf", "/dev/zero", ocf.ErrConfigured, "a character device"},
		{"ceph_conf", fifoPath, ocf.ErrConfigured, "a FIFO"},
		{"ceph_keyring", dir, ocf.ErrConfigured, "a directory"},
		{"ceph_keyring", fifoPath, ocf.ErrConfigured, "a FIFO"},
		{"ceph_keyring", filepath.Join(dir, "missing"), ocf.ErrInstalled, "does not exist"},
		{"monitor_scripts", "/bin/true " + filepath.Join(dir, "missing"), ocf.ErrInstalled, "does not exist"},
		{"monitor_scripts", "no-such-program-kvmha", ocf.ErrInstalled, "not in PATH"},
		{"monitor_scripts", "rel/script", ocf.ErrConfigured, "not an absolute path"},
		{"monitor_scripts", fifoPath, ocf.ErrConfigured, "not a regular file"},
		{"monitor_scripts", notExec, ocf.ErrConfigured, "not executable"},
		{"snapshot", "relative/dir", ocf.ErrConfigured, "not an absolute path"},
		{"snapshot", "/dev/zero", ocf.ErrConfigured, "not a directory"},
		{"snapshot", filepath.Join(dir, "missing"), ocf.ErrInstalled, "does not exist"},
		{"config", "/dev/zero", ocf.ErrConfigured, "a character device"},
		{"config", dir, ocf.ErrConfigured, "a directory"},
		{"migration_transport", "a b/c", ocf.ErrConfigured, "not a libvirt transport"},
	} {
		t.Run(tc.param+"="+tc.value, func(t *testing.T) {
			h := newHarness(t)
			h.set("OCF_RESKEY_"+tc.param, tc.value)
			r := h.expect("validate-all", tc.want)
			if !strings.HasPrefix(r.Reason, tc.param+": ") || !strings.Contains(r.Reason, tc.says) {
				t.Fatalf("reason %q, want %s: ...%s", r.Reason, tc.param, tc.says)
			}
		})
	}
}

// A probe is not failed by a file only start reads.
func TestProbeIgnoresStartOnlyFiles(t *testing.T) {
	h := newHarness(t)
	h.hv.add(&fakeDomain{name: "vm1", uuid: testUUID, state: libvirt.StateRunning})
	h.set("OCF_RESKEY_ceph_keyring", h.dir, "OCF_RESKEY_snapshot", "/dev/zero", "OCF_RESKEY_CRM_meta_interval", "0")
	h.expect("monitor", ocf.Success)
}

// Huge values are quoted clipped: the exit reason and the log stay short.
func TestHugeValuesAreClipped(t *testing.T) {
	huge := strings.Repeat("x", 100<<10)
	for _, param := range []string{"hypervisor", "config", "ceph_keyring", "monitor_scripts", "shutdown_mode", "snapshot"} {
		t.Run(param, func(t *testing.T) {
			h := newHarness(t)
			h.set("OCF_RESKEY_"+param, "/"+huge)
			r := h.do("validate-all")
			if r.Code == ocf.Success || len(r.Stderr) > 8<<10 || !strings.HasPrefix(r.Reason, param+": ") {
				t.Fatalf("exit %d, %d bytes of stderr, reason %.200q", r.Code, len(r.Stderr), r.Reason)
			}
		})
	}
}

// A program that prints without end does not grow the agent.
func TestRunCommandOutputIsCapped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, code, err := runCommand(ctx, []string{"sh", "-c", "head -c 10000000 /dev/zero"})
	if err != nil || code != 0 || len(out) != maxCommandOutput {
		t.Fatalf("%d bytes, exit %d, %v", len(out), code, err)
	}
}
