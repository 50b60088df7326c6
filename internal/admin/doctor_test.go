package admin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/doctor"
)

func TestDoctorUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--output", "yaml"},
		{"--check", "kernal"},
		{"--skip", "nope"},
		{"--check", "clock", "--skip", "clock"},
		{"--pools", "a/b/c"},
		{"--mon-host", "10.0.0.1:99999"},
		{"--libvirt-uri", "qemu+ext://h/system"},
		{"--timeout", "0s"},
		{"--cib", "/nonexistent/cib.xml"},
		{"--cib", ""},
		{"--cib", "/dev/zero"},
		{"extra-argument"},
	} {
		code, out, errs := run(append([]string{"doctor"}, args...)...)
		if code != 2 || out != "" || strings.Count(strings.TrimSpace(errs), "\n") != 0 || errs == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line", args, code, out, errs)
		}
	}
}

func TestDoctorJSONAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	// Nothing configured here: node-name skips, nothing fails.
	code, out, errs := run("doctor", "--check", "node-name", "--heartbeat-state-dir", dir, "--output", "json")
	var rs []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rs) != nil || len(rs) != 1 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	for _, k := range []string{"check", "family", "status", "detail", "fix", "seconds"} {
		if _, ok := rs[0][k]; !ok {
			t.Errorf("JSON lacks %q: %v", k, rs[0])
		}
	}
	if rs[0]["check"] != "node-name" || rs[0]["status"] != "skip" {
		t.Errorf("%v", rs[0])
	}
	// A monitor address nothing listens on: ceph-mon fails, with its fix.
	code, out, _ = run("doctor", "--check", "ceph-mon", "--mon-host", "127.0.0.1:1")
	if code != 1 || !strings.Contains(out, "FAIL  ceph-mon") || !strings.Contains(out, "fix: start the monitors") ||
		!strings.Contains(out, "1 check in") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestDoctorHelpListsEveryCheck(t *testing.T) {
	_, out, _ := run("doctor", "--help")
	for _, c := range doctor.New().Checks() {
		if !strings.Contains(out, c.Info().Name) {
			t.Errorf("help lacks %s", c.Info().Name)
		}
	}
	for _, s := range []string{"--pools", "--heartbeat-state-dir", "--cib", "Exit status"} {
		if !strings.Contains(out, s) {
			t.Errorf("help lacks %s", s)
		}
	}
}

// TestDoctorSavedCIB: --cib judges a saved CIB (here a pcmk_reboot_timeout with a unit,
// which Pacemaker's fencer reads as 2 seconds), from a file or stdin.
func TestDoctorSavedCIB(t *testing.T) {
	cib := `<cib><configuration><crm_config/><resources>
  <primitive id="kvmha-fence" class="stonith" type="fence_kvmha"><instance_attributes id="f-ia">
    <nvpair id="f-b" name="backends" value="rados://kvmha"/><nvpair id="f-t" name="pcmk_reboot_timeout" value="2min"/>
  </instance_attributes></primitive>
  <clone id="hb-clone"><primitive id="hb" class="ocf" provider="kvmha" type="HostHeartbeat"><instance_attributes id="hb-ia">
    <nvpair id="hb-b" name="backends" value="rados://kvmha"/></instance_attributes></primitive></clone>
</resources></configuration></cib>`
	file := filepath.Join(t.TempDir(), "cib.xml")
	if err := os.WriteFile(file, []byte(cib), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run("doctor", "--check", "fence-timing", "--cib", file)
	if code != 1 || !strings.Contains(out, "FAIL  fence-timing  fence_kvmha device kvmha-fence needs up to 18s") ||
		!strings.Contains(out, `"2min" is 2s`) || !strings.Contains(out, "fix: give the device more time") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old }()
	go func() { w.WriteString(cib); w.Close() }()
	if code, out, errs := run("doctor", "--check", "fence-timing", "--cib", "-", "--output", "json"); code != 1 || !strings.Contains(out, `"status": "fail"`) {
		t.Fatalf("stdin: exit %d\n%s%s", code, out, errs)
	}
}
