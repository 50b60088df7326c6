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
	if !errors.As(err, &ee) || ee.ExitCode != 3 || err.Error() != "tool x: err x (exit 3)" {
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

func TestRunCombined(t *testing.T) {
	fakeTool(t, "script", `echo one; echo two >&2; echo three; exit 2`)
	res, err := Cmd{Name: "script", Combined: true, MaxOutput: 8}.Run(context.Background())
	if err != nil || res.ExitCode != 2 || string(res.Stdout) != "one\ntwo\n" || len(res.Stderr) != 0 || !res.Truncated {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestOutputRefusesTruncated(t *testing.T) {
	fakeTool(t, "chatty", "head -c 3000 /dev/zero")
	if _, err := (Cmd{Name: "chatty", MaxOutput: 1000}).Output(context.Background()); err == nil || !strings.Contains(err.Error(), "more than 1000 bytes") {
		t.Fatalf("%v", err)
	}
}

func TestLookupMissing(t *testing.T) {
	if _, err := Run(context.Background(), "no-such-tool-here"); !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("%v", err)
	}
	if _, err := Lookup("/no/such/tool"); err == nil || errors.Is(err, ErrNotInstalled) {
		t.Fatalf("a path: %v", err)
	}
	if p, err := Lookup("sh"); err != nil || !strings.HasSuffix(p, "/sh") {
		t.Fatalf("sh: %q %v", p, err)
	}
	t.Setenv("PATH", "/nonexistent")
	if p, err := Lookup("sh"); err != nil || !strings.HasSuffix(p, "/sh") {
		t.Fatalf("sh outside PATH: %q %v", p, err)
	}
}

func TestCIBVariablesPassed(t *testing.T) {
	fakeTool(t, "cibadmin", `echo "<cib file='$CIB_file' secret='$OCF_RESKEY_x'/>"`)
	t.Setenv("CIB_file", "/tmp/saved.xml")
	t.Setenv("OCF_RESKEY_x", "y")
	if out, err := CIB(context.Background(), ""); err != nil || string(out) != "<cib file='/tmp/saved.xml' secret=''/>\n" {
		t.Fatalf("%q %v", out, err)
	}
	fakeTool(t, "crm_resource", `echo "[$CIB_file]"`)
	if err := SetUtilization(context.Background(), "vm1", "cpu", "2"); err != nil {
		t.Fatal(err)
	}
	if res, _ := Run(context.Background(), "crm_resource"); string(res.Stdout) != "[]\n" {
		t.Fatalf("crm_resource got CIB_file: %q", res.Stdout)
	}
}

func TestLoadModules(t *testing.T) {
	fakeTool(t, "modprobe", `[ "$1" = -a ] || exit 9
[ "$2" = good ] && exit 0
echo "modprobe: FATAL: Module $2 not found in directory /lib/modules/x" >&2
echo second line >&2
exit 1`)
	if err := LoadModules(context.Background(), "good"); err != nil {
		t.Fatal(err)
	}
	err := LoadModules(context.Background(), "bad", "other")
	if err == nil || err.Error() != "modprobe -a bad other: modprobe: FATAL: Module bad not found in directory /lib/modules/x (exit 1)" {
		t.Fatalf("%v", err)
	}
}

func TestUtilization(t *testing.T) {
	// crm_resource 2.1.5's answers, found and not.
	fakeTool(t, "crm_resource", `case "$5" in
cpu) cat <<'X'
<pacemaker-result api-version="2.25" request="crm_resource">
  <list name="attributes" count="1">
    <item name="cpu">2</item>
  </list>
  <status code="0" message="OK"/>
</pacemaker-result>
X
;;
*) cat <<'X'
<pacemaker-result api-version="2.25" request="crm_resource">
  <status code="0" message="OK">
    <errors>
      <error>Attribute 'hv_memory' not found for 'vm1'</error>
    </errors>
  </status>
</pacemaker-result>
X
;;
esac`)
	if v, err := Utilization(context.Background(), "vm1", "cpu"); err != nil || v != "2" {
		t.Fatalf("%q %v", v, err)
	}
	if _, err := Utilization(context.Background(), "vm1", "hv_memory"); !IsNoAttribute(err) {
		t.Fatalf("unset: %v", err)
	}
	fakeTool(t, "crm_resource", `echo "<pacemaker-result><status code='102' message='Not connected'/></pacemaker-result>"; exit 102`)
	if _, err := Utilization(context.Background(), "vm1", "cpu"); err == nil || IsNoAttribute(err) || !strings.Contains(err.Error(), "Not connected") {
		t.Fatalf("failing: %v", err)
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

func TestSetNodeAttributeDampened(t *testing.T) {
	fakeTool(t, "attrd_updater", `printf '%s\n' "$*" > "$(dirname "$0")/args"`)
	if err := SetNodeAttributeDampened(context.Background(), "kvmha-storage", "0", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	dir := strings.Split(os.Getenv("PATH"), ":")[0]
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if string(args) != "-n kvmha-storage -B 0 -d 5s\n" {
		t.Fatalf("args %q", args)
	}
}
