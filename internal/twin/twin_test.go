package twin

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestExecWithoutImage(t *testing.T) {
	if err := Exec("x", nil, []string{"x"}, nil); err == nil || !strings.Contains(err.Error(), "no embedded x") {
		t.Fatalf("want a clear error, got %v", err)
	}
}

// TestExecRunsImage re-runs this test binary as a child; the child execs /bin/true's bytes
// from memory, so the child's exit status is true's.
func TestExecRunsImage(t *testing.T) {
	if os.Getenv("TWIN_CHILD") == "1" {
		image, err := os.ReadFile("/bin/true")
		if err != nil {
			os.Exit(3)
		}
		Exec("true", image, []string{"true"}, nil)
		os.Exit(4) // reached only when Exec failed
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestExecRunsImage$")
	cmd.Env = append(os.Environ(), "TWIN_CHILD=1")
	if err := cmd.Run(); err != nil {
		t.Fatalf("child did not become /bin/true: %v", err)
	}
}
