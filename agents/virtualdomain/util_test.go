package virtualdomain

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/kvmha/kvmha/internal/hostcmd"
)

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

func lookPathCsync2() (string, error) { return hostcmd.Lookup("csync2") }

// record reads this node's record of a resource instance.
func (h *harness) record(instance string) (domainRecord, bool) {
	h.t.Helper()
	data, err := os.ReadFile(filepath.Join(h.rscTmp(), "kvmha-VirtualDomain-"+instance+".record"))
	if err != nil {
		return domainRecord{}, false
	}
	var rec domainRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		h.t.Fatalf("record of %s: %v", instance, err)
	}
	return rec, true
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
