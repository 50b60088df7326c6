package twin

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestExecWithoutImage(t *testing.T) {
	if err := execImage("x", nil, []string{"x"}, nil); err == nil || !strings.Contains(err.Error(), "no embedded x") {
		t.Fatalf("want a clear error, got %v", err)
	}
}

// startOnly is an agent's NeedsCeph that sends start to the twin.
func startOnly(action string, _ func(string) string) bool { return action == "start" }

// TestDispatch re-runs this test binary as a child that dispatches to a twin
// that is /bin/true's bytes (or, with an override, /bin/true on disk): a child
// that became the twin exits 0; one that stayed exits 4.
func TestDispatch(t *testing.T) {
	if os.Getenv("TWIN_CHILD") == "1" {
		image, err := os.ReadFile("/bin/true")
		if err != nil {
			os.Exit(3)
		}
		tw := Twin{Name: "true", Image: image, Needs: startOnly, Override: "TWIN_OVERRIDE"}
		if os.Getenv("TWIN_NO_IMAGE") == "1" {
			tw.Image = nil
		}
		Dispatch(tw, []string{"agent", os.Getenv("TWIN_ACTION")}, os.Environ())
		os.Exit(4)
	}
	for _, tc := range []struct {
		name   string
		env    []string
		inTwin bool
	}{
		{"start runs in the twin", []string{"TWIN_ACTION=start"}, true},
		{"monitor stays", []string{"TWIN_ACTION=monitor"}, false},
		{"no action stays", nil, false},
		{"no image stays", []string{"TWIN_ACTION=start", "TWIN_NO_IMAGE=1"}, false},
		{"override on disk", []string{"TWIN_ACTION=start", "TWIN_NO_IMAGE=1", "TWIN_OVERRIDE=/bin/true"}, true},
		{"failed override stays", []string{"TWIN_ACTION=start", "TWIN_OVERRIDE=/nonexistent"}, false},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDispatch$")
		cmd.Env = append(append(os.Environ(), "TWIN_CHILD=1"), tc.env...)
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case tc.inTwin && err != nil:
			t.Errorf("%s: the child did not become /bin/true: %v", tc.name, err)
		case !tc.inTwin && !(errors.As(err, &exit) && exit.ExitCode() == 4):
			t.Errorf("%s: the child should have returned from Dispatch, got %v", tc.name, err)
		}
	}
}

func TestLookupEnv(t *testing.T) {
	env := []string{"A=1", "B", "A=2", "C=x=y"}
	for key, want := range map[string]string{"A": "1", "B": "", "C": "x=y", "D": ""} {
		if got := lookupEnv(env, key); got != want {
			t.Errorf("%s: %q, want %q", key, got, want)
		}
	}
}
