package hostcmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeTool puts an executable shell script named name first in PATH.
func fakeTool(t *testing.T, name, script string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
}

func TestRunMinimalEnvironmentAndStreams(t *testing.T) {
	fakeTool(t, "tool", `echo out; echo "err $1" >&2; env | sort; exit 3`)
	t.Setenv("OCF_RESKEY_secret", "do-not-pass")
	res, err := Run(context.Background(), "tool", "x")
	if err != nil || res.ExitCode != 3 || !strings.HasPrefix(string(res.Stdout), "out\n") || string(res.Stderr) != "err x\n" {
		t.Fatalf("%+v %v", res, err)
	}
	if strings.Contains(string(res.Stdout), "do-not-pass") || !strings.Contains(string(res.Stdout), "LC_ALL=C") {
		t.Fatalf("environment: %s", res.Stdout)
	}
	_, err = Output(context.Background(), "tool", "x")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.ExitCode != 3 || err.Error() != "tool exited with status 3: err x" {
		t.Fatalf("Output: %v", err)
	}
}

func TestRunBoundedByContext(t *testing.T) {
	fakeTool(t, "slow", "sleep 30")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Run(ctx, "slow"); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("%v after %s", err, time.Since(start))
	}
}

func TestRunCapsOutput(t *testing.T) {
	fakeTool(t, "chatty", "head -c 3000000 /dev/zero")
	res, err := Run(context.Background(), "chatty")
	if err != nil || len(res.Stdout) != MaxOutput {
		t.Fatalf("%d bytes, %v", len(res.Stdout), err)
	}
}

func TestLookupMissing(t *testing.T) {
	if _, err := Run(context.Background(), "no-such-tool-here"); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("%v", err)
	}
}

func TestNodeAttribute(t *testing.T) {
	fakeTool(t, "attrd_updater", `case "$3" in
kvmha-storage) cat <<'X'
<pacemaker-result api-version="2.25" request="attrd_updater">
  <attribute name="kvmha-storage" value="1" host="node1"/>
  <attribute name="kvmha-storage" value="0" host="node2"/>
  <status code="0" message="OK"/>
</pacemaker-result>
X
;;
*) cat <<'X'
<pacemaker-result api-version="2.25" request="attrd_updater">
  <status code="78" message="Invalid configuration"><errors><error>attrd_updater: Could not query value of shutdown: attribute does not exist</error></errors></status>
</pacemaker-result>
X
exit 78;;
esac`)
	if v, err := NodeAttribute(context.Background(), "kvmha-storage", "node2"); err != nil || v != "0" {
		t.Fatalf("%q %v", v, err)
	}
	if _, err := NodeAttribute(context.Background(), "shutdown", ""); !IsNoAttribute(err) {
		t.Fatalf("unset attribute: %v", err)
	}
}

func TestHasQuorum(t *testing.T) {
	fakeTool(t, "crm_node", `echo 0`)
	if q, err := HasQuorum(context.Background()); err != nil || q {
		t.Fatalf("%v %v", q, err)
	}
	fakeTool(t, "crm_node", `echo "error: not connected" >&2; exit 102`)
	if _, err := HasQuorum(context.Background()); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Fatalf("%v", err)
	}
}
