package virtualdomain

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

func lookPathCsync2() (string, error) { return exec.LookPath("csync2") }

// recallFor reads what the agent remembers for a resource instance.
func (v *vd) recallFor(instance string) (rememberedDomain, bool) {
	data, err := os.ReadFile(v.stateDir + "/kvmha-VirtualDomain-" + instance + ".domain")
	if err != nil {
		return rememberedDomain{}, false
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) < 2 {
		return rememberedDomain{}, false
	}
	return rememberedDomain{Name: lines[0], UUID: lines[1]}, true
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
