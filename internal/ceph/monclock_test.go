package ceph

import "testing"

func TestReportTimestamp(t *testing.T) {
	report := `{"cluster_fingerprint":"x","version":"16.2.15","commit":"y","health":{"checks":{"timestamp":"no"}},` +
		`"timestamp":"2026-11-22T03:14:27.112183+0000","tag":"","osdmap":{}}`
	if ts, err := reportTimestamp([]byte(report)); err != nil || ts != "2026-11-22T03:14:27.112183+0000" {
		t.Fatalf("%q %v", ts, err)
	}
	for _, bad := range []string{`[]`, `{"a":1}`, `{"timestamp":3}`, `{"a":`, ``} {
		if ts, err := reportTimestamp([]byte(bad)); err == nil {
			t.Errorf("%q: %q", bad, ts)
		}
	}
}
