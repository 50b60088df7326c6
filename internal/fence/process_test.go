package fence

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunInProcess re-executes the test binary so that Run (which exits the
// process) is exercised for real: exit codes, stdin, and SIGTERM handling.
func TestRunInProcess(t *testing.T) {
	if mode := os.Getenv("FENCE_TEST_RUN"); mode != "" {
		d := newFakeDevice()
		d.hang = mode == "hang"
		os.Args = []string{"fence_test"}
		Run(richAgent(d))
		return
	}
	child := func(mode, stdin string) *exec.Cmd {
		c := exec.Command(os.Args[0], "-test.run=^TestRunInProcess$")
		c.Env = append(os.Environ(), "FENCE_TEST_RUN="+mode)
		c.Stdin = strings.NewReader(stdin)
		return c
	}
	exitCode := func(err error) int {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	c := child("normal", "action=status\nip=sw\nplug=vm2\n")
	out, err := c.Output()
	if code := exitCode(err); code != 2 || string(out) != "Status: OFF\n" {
		t.Errorf("status off via Run: exit %d, stdout %q", code, out)
	}

	// Signal only once the action runs (its start is logged with verbose),
	// so the signal handler is surely installed.
	c = child("hang", "action=off\nip=sw\nplug=vm1\npower_timeout=60\nverbose=1\n")
	pipe, err := c.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		errb.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "deadline in") {
			break
		}
	}
	_ = c.Process.Signal(syscall.SIGTERM)
	start := time.Now()
	for sc.Scan() {
		errb.WriteString(sc.Text() + "\n")
	}
	code := exitCode(c.Wait())
	if code != 1 || !strings.Contains(errb.String(), "action off interrupted") || time.Since(start) > 5*time.Second {
		t.Errorf("SIGTERM: exit %d after %s, stderr %s", code, time.Since(start), errb.String())
	}
}
