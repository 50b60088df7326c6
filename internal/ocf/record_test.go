package ocf

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recordingAgent starts by writing a record and stops by its parameters, or by its record
// when they are unusable; stopped lists what each stop stopped.
func recordingAgent(stopped *[]string) *Agent {
	a := minimalAgent()
	a.Start = func(_ context.Context, req *Request) error {
		return req.SaveRecord(map[string]string{"name": req.String("name")})
	}
	a.Stop = func(_ context.Context, req *Request) error {
		if strings.Contains(req.String("name"), "/") {
			return Errorf(ErrConfigured, "name %q contains /", req.String("name"))
		}
		*stopped = append(*stopped, "by parameters: "+req.String("name"))
		return req.DropRecord()
	}
	a.StopRecorded = func(_ context.Context, req *Request) error {
		var rec map[string]string
		if ok, err := req.LoadRecord(&rec); !ok || err != nil {
			return Errorf(ErrGeneric, "no record: %v", err)
		}
		*stopped = append(*stopped, "by record: "+rec["name"])
		return req.DropRecord()
	}
	return a
}

func TestStopWithUnusableParametersStopsWhatTheRecordNames(t *testing.T) {
	dir := t.TempDir()
	var stopped []string
	a := recordingAgent(&stopped)
	base := []string{"HA_RSCTMP=" + dir, "OCF_RESOURCE_INSTANCE=r1"}
	if r := invoke(a, newTestWorld(), "start", append(base, "OCF_RESKEY_name=vm1")...); r.code != 0 {
		t.Fatalf("start: %d %s", r.code, r.stderr)
	}
	record := filepath.Join(dir, "kvmha-minimal-r1.record")
	if st, err := os.Stat(record); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("record: %v %v", st, err)
	}
	// A parameter the runtime refuses: the record's domain is stopped.
	if r := invoke(a, newTestWorld(), "stop", append(base, "OCF_RESKEY_name=vm1", "OCF_RESKEY_count=abc")...); r.code != 0 {
		t.Fatalf("stop with a typo: %d %s", r.code, r.stderr)
	}
	if len(stopped) != 1 || stopped[0] != "by record: vm1" {
		t.Fatalf("stopped %q", stopped)
	}
	if _, err := os.Stat(record); !os.IsNotExist(err) {
		t.Fatalf("record left after stop: %v", err)
	}
	// No record now: the same stop succeeds without stopping anything.
	stopped = nil
	if r := invoke(a, newTestWorld(), "stop", append(base, "OCF_RESKEY_count=abc")...); r.code != 0 || len(stopped) != 0 {
		t.Fatalf("stop of nothing: %d %q %s", r.code, stopped, r.stderr)
	}
}

func TestStopWhoseHandlerRefusesTheConfiguration(t *testing.T) {
	dir := t.TempDir()
	var stopped []string
	a := recordingAgent(&stopped)
	base := []string{"HA_RSCTMP=" + dir, "OCF_RESOURCE_INSTANCE=r1"}
	// Nothing recorded: ErrConfigured from stop means nothing can have started.
	if r := invoke(a, newTestWorld(), "stop", append(base, "OCF_RESKEY_name=a/b")...); r.code != 0 || len(stopped) != 0 {
		t.Fatalf("stop name=a/b without a record: %d %q %s", r.code, stopped, r.stderr)
	}
	invoke(a, newTestWorld(), "start", append(base, "OCF_RESKEY_name=vm1")...)
	if r := invoke(a, newTestWorld(), "stop", append(base, "OCF_RESKEY_name=a/b")...); r.code != 0 {
		t.Fatalf("stop name=a/b with a record: %d %s", r.code, r.stderr)
	}
	if len(stopped) != 1 || stopped[0] != "by record: vm1" {
		t.Fatalf("stopped %q", stopped)
	}
}

func TestStopOfNothingUnderATinyTimeout(t *testing.T) {
	var stopped []string
	a := recordingAgent(&stopped)
	r := invoke(a, newTestWorld(), "stop", "HA_RSCTMP="+t.TempDir(), "OCF_RESKEY_CRM_meta_timeout=1", "OCF_RESKEY_count=abc")
	if r.code != 0 {
		t.Fatalf("stop with a 1 ms timeout and invalid parameters: %d %s", r.code, r.stderr)
	}
}

func TestCorruptRecordIsAnError(t *testing.T) {
	dir := t.TempDir()
	var stopped []string
	a := recordingAgent(&stopped)
	if err := os.WriteFile(filepath.Join(dir, "kvmha-minimal-r1.record"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := invoke(a, newTestWorld(), "stop", "HA_RSCTMP="+dir, "OCF_RESOURCE_INSTANCE=r1", "OCF_RESKEY_count=abc")
	if r.code != int(ErrGeneric) || !strings.Contains(r.exitReason(t), "corrupt") {
		t.Fatalf("stop with a corrupt record: %d %s", r.code, r.stderr)
	}
}

func TestRecordPathOfOddInstances(t *testing.T) {
	for inst, want := range map[string]string{"vm1:0": "kvmha-minimal-vm1:0.record", "a/b": "kvmha-minimal-a_b.record",
		"": "kvmha-minimal-unnamed.record", "..": "kvmha-minimal-unnamed.record"} {
		req := &Request{env: &Env{ResourceInstance: inst, RscTmp: "/run/x"}, agent: minimalAgent()}
		if got := req.RecordPath(); got != "/run/x/"+want {
			t.Errorf("instance %q: %s", inst, got)
		}
	}
}

func TestParamErrorf(t *testing.T) {
	err := ParamErrorf("pool", "%q contains /", "a/b")
	if CodeOf(err) != ErrConfigured || err.Error() != `pool: "a/b" contains /` {
		t.Fatalf("%d %v", CodeOf(err), err)
	}
}

func TestMonitorWithUnusableParametersReportsTheRecord(t *testing.T) {
	dir := t.TempDir()
	var stopped []string
	a := recordingAgent(&stopped)
	a.MonitorRecorded = func(_ context.Context, req *Request) error {
		var rec map[string]string
		if ok, _ := req.LoadRecord(&rec); ok {
			return nil // the recorded one runs
		}
		return Exit(NotRunning)
	}
	base := []string{"HA_RSCTMP=" + dir, "OCF_RESOURCE_INSTANCE=r1", "OCF_RESKEY_count=abc"}
	if r := invoke(a, newTestWorld(), "monitor", base...); r.code != int(NotRunning) {
		t.Fatalf("probe with a typo, no record: %d %s", r.code, r.stderr)
	}
	invoke(a, newTestWorld(), "start", "HA_RSCTMP="+dir, "OCF_RESOURCE_INSTANCE=r1", "OCF_RESKEY_name=vm1")
	if r := invoke(a, newTestWorld(), "monitor", base...); r.code != 0 {
		t.Fatalf("probe with a typo and a record: %d %s", r.code, r.stderr)
	}
}

func TestLegacyRecordCounts(t *testing.T) {
	dir := t.TempDir()
	var stopped []string
	a := recordingAgent(&stopped)
	legacy := filepath.Join(dir, "old-format")
	a.LegacyRecords = func(*Request) []string { return []string{legacy} }
	a.StopRecorded = func(context.Context, *Request) error {
		stopped = append(stopped, "legacy")
		return os.Remove(legacy)
	}
	if err := os.WriteFile(legacy, []byte("vm1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := invoke(a, newTestWorld(), "stop", "HA_RSCTMP="+dir, "OCF_RESKEY_count=abc"); r.code != 0 || len(stopped) != 1 {
		t.Fatalf("stop with a legacy record: %d %q %s", r.code, stopped, r.stderr)
	}
}
