package fence

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStatusExitCodes(t *testing.T) {
	d := newFakeDevice()
	a := richAgent(d)
	runStdin(t, a, "action=status", "ip=sw", "plug=vm1").expect(t, 0, "Status: ON", "")
	runStdin(t, a, "action=status", "ip=sw", "port=vm2").expect(t, 2, "Status: OFF", "")
	runStdin(t, a, "action=status", "ip=sw", "plug=nope").expect(t, 1, "", "no such plug")
	d.unknown = true
	runStdin(t, a, "action=status", "ip=sw", "plug=vm1").expect(t, 1, "Status: UNKNOWN", "unknown")
	d.unknown, d.failStatus = false, true
	runStdin(t, a, "action=status", "ip=sw", "plug=vm1").expect(t, 1, "", "device says no")
}

func TestOffOn(t *testing.T) {
	d := newFakeDevice()
	a := richAgent(d)
	runStdin(t, a, "action=off", "ip=sw", "plug=vm1").expect(t, 0, "Success: Powered OFF", "")
	if d.power["vm1"] != PowerOff {
		t.Fatal("vm1 not off")
	}
	runStdin(t, a, "action=off", "ip=sw", "plug=vm1").expect(t, 0, "Success: Already OFF", "")
	runStdin(t, a, "action=on", "ip=sw", "plug=vm1").expect(t, 0, "Success: Powered ON", "")
	runStdin(t, a, "action=on", "ip=sw", "plug=vm1").expect(t, 0, "Success: Already ON", "")
	if d.power["vm1"] != PowerOn {
		t.Fatal("vm1 not on")
	}
}

func TestOffWaitsForStatus(t *testing.T) {
	d := newFakeDevice()
	d.lagPolls = 3
	a := richAgent(d)
	runStdin(t, a, "action=off", "ip=sw", "plug=vm1").expect(t, 0, "Powered OFF", "")
	if n := strings.Count(d.callLog(), "status:vm1"); n < 4 {
		t.Errorf("expected polling, calls: %s", d.callLog())
	}
}

func TestOffFailures(t *testing.T) {
	d := newFakeDevice()
	d.failOff = true
	a := richAgent(d)
	runStdin(t, a, "action=off", "ip=sw", "plug=vm1").expect(t, 1, "", "device says no")

	d = newFakeDevice()
	d.stuck = true
	a = richAgent(d)
	start := time.Now()
	r := runStdin(t, a, "action=off", "ip=sw", "plug=vm1", "power_timeout=0.2")
	r.expect(t, 1, "", "timed out waiting for plug \"vm1\" to power OFF")
	if el := time.Since(start); el < 200*time.Millisecond || el > 2*time.Second {
		t.Errorf("power_timeout not honoured: %s", el)
	}

	d = newFakeDevice()
	d.failStatus = true
	runStdin(t, richAgent(d), "action=off", "ip=sw", "plug=vm1").expect(t, 1, "", "cannot get the status")

	d = newFakeDevice()
	d.failOn = true
	runStdin(t, richAgent(d), "action=on", "ip=sw", "plug=vm2").expect(t, 1, "", "power on of plug \"vm2\"")
}

func TestOffWithoutStatusFunc(t *testing.T) {
	d := newFakeDevice()
	a := richAgent(d)
	a.Status = nil
	runStdin(t, a, "action=off", "ip=sw", "plug=vm1").expect(t, 0, "Success: Powered OFF", "")
	runStdin(t, a, "action=status", "ip=sw", "plug=vm1").expect(t, 1, "", "unsupported action")
	if strings.Contains(d.callLog(), "status") {
		t.Errorf("status called: %s", d.callLog())
	}
}

func TestReboot(t *testing.T) {
	d := newFakeDevice()
	a := richAgent(d)
	// Default action is reboot.
	runStdin(t, a, "ip=sw", "plug=vm1").expect(t, 0, "Success: Rebooted", "")
	if got := d.callLog(); !strings.Contains(got, "off:vm1") || !strings.Contains(got, "on:vm1") ||
		strings.Index(got, "off:vm1") > strings.Index(got, "on:vm1") {
		t.Errorf("reboot calls: %s", got)
	}
	// Already off: only on.
	d.calls = nil
	runStdin(t, a, "action=reboot", "ip=sw", "plug=vm2").expect(t, 0, "Success: Rebooted", "")
	if got := d.callLog(); strings.Contains(got, "off:vm2") || !strings.Contains(got, "on:vm2") {
		t.Errorf("reboot of an off plug: %s", got)
	}
	// Off fails: failure.
	d.failOff = true
	runStdin(t, a, "action=reboot", "ip=sw", "plug=vm1").expect(t, 1, "", "power off")
	// Off works, on fails: still fenced, so success with an error logged.
	d.failOff, d.failOn = false, true
	runStdin(t, a, "action=reboot", "ip=sw", "plug=vm3").expect(t, 0, "Success: Rebooted", "was powered off but not back on")
}

func TestRebootOwnFunc(t *testing.T) {
	d := newFakeDevice()
	a := richAgent(d)
	var got string
	a.Reboot = func(_ context.Context, r *Request) error { got = r.Action + ":" + r.Plug; return nil }
	runStdin(t, a, "action=reboot", "ip=sw", "plug=vm1").expect(t, 0, "Success: Rebooted", "")
	if got != "reboot:vm1" || d.callLog() != "" {
		t.Errorf("own reboot: %q, device calls %q", got, d.callLog())
	}
	a.Reboot = func(context.Context, *Request) error { return errDevice }
	runStdin(t, a, "action=reboot", "ip=sw", "plug=vm1").expect(t, 1, "", "device says no")
}

func TestList(t *testing.T) {
	d := newFakeDevice()
	a := richAgent(d)
	r := runStdin(t, a, "action=list", "ip=sw")
	r.expect(t, 0, "", "")
	if r.stdout != "vm1,guest-vm1\nvm2,guest-vm2\nvm3,guest-vm3\n" {
		t.Errorf("list output %q", r.stdout)
	}
	r = runStdin(t, a, "action=list-status", "ip=sw")
	if r.code != 0 || r.stdout != "vm1,guest-vm1,on\nvm2,guest-vm2,off\nvm3,guest-vm3,on\n" {
		t.Errorf("list-status: %d %q", r.code, r.stdout)
	}
	r = runStdin(t, a, "action=list-status", "ip=sw", "separator=;")
	if !strings.HasPrefix(r.stdout, "vm1;guest-vm1;on\n") {
		t.Errorf("separator: %q", r.stdout)
	}
	a.List = func(context.Context, *Request) ([]Plug, error) { return []Plug{{ID: "x"}}, nil }
	r = runStdin(t, a, "action=list-status", "ip=sw")
	if r.stdout != "x,,UNKNOWN\n" {
		t.Errorf("unknown state: %q", r.stdout)
	}
	d.failList = true
	runStdin(t, richAgent(d), "action=list", "ip=sw").expect(t, 1, "", "cannot list plugs")
	a.List = nil
	runStdin(t, a, "action=list", "ip=sw").expect(t, 1, "", "unsupported action \"list\"")
}

func TestMonitor(t *testing.T) {
	d := newFakeDevice()
	a := richAgent(d)
	runStdin(t, a, "action=monitor", "ip=sw").expect(t, 0, "", "")
	if d.callLog() != "list" {
		t.Errorf("monitor without Monitor func should list: %q", d.callLog())
	}
	d.failList = true
	runStdin(t, a, "action=monitor", "ip=sw").expect(t, 1, "", "monitor")
	a.Monitor = func(context.Context, *Request) error { return nil }
	runStdin(t, a, "action=monitor", "ip=sw").expect(t, 0, "", "")
	a.Monitor = func(context.Context, *Request) error { return errors.New("switch unreachable") }
	runStdin(t, a, "action=monitor", "ip=sw").expect(t, 1, "", "switch unreachable")
	a.Monitor, a.List = nil, nil
	runStdin(t, a, "action=monitor", "ip=sw").expect(t, 0, "", "")
	a.NoPlug = true
	d.failStatus = true
	runStdin(t, a, "action=monitor", "ip=sw").expect(t, 1, "", "monitor")
}

func TestValidateAll(t *testing.T) {
	a := richAgent(newFakeDevice())
	r := runStdin(t, a, "action=validate-all", "ip=sw")
	r.expect(t, 0, "", "")
	if r.stdout != "" {
		t.Errorf("validate-all printed %q", r.stdout)
	}
	runStdin(t, a, "action=validate-all").expect(t, 1, "", "missing required option ip (--ip)")
	runStdin(t, a, "action=validate-all", "ip=sw", "ipport=http").expect(t, 1, "", "invalid value for ipport")
	runStdin(t, a, "action=validate-all", "ip=sw", "ssl=maybe").expect(t, 1, "", "invalid value for ssl")
	runStdin(t, a, "action=validate-all", "ip=sw", "method=kick").expect(t, 1, "", "must be one of onoff, cycle")
	runStdin(t, a, "action=validate-all", "ip=sw", "login_timeout=-1").expect(t, 1, "", "invalid value for login_timeout")
	runStdin(t, a, "action=validate-all", "ip=sw", "power_timeout=0").expect(t, 1, "", "power_timeout must be greater than 0")
	r = runStdin(t, a, "action=validate-all", "ip=bad.invalid")
	r.expect(t, 1, "", "ip bad.invalid is not reachable")
	if !strings.Contains(r.stderr, "validate-all failed") {
		t.Errorf("no summary line: %s", r.stderr)
	}
	// The agent's Validate also guards real actions.
	runStdin(t, a, "action=off", "ip=bad.invalid", "plug=vm1").expect(t, 1, "", "invalid configuration")
}

func TestMissingPlug(t *testing.T) {
	a := richAgent(newFakeDevice())
	for _, act := range []string{"on", "off", "reboot", "status"} {
		runStdin(t, a, "action="+act, "ip=sw").expect(t, 1, "", "no plug given")
	}
	a.NoPlug = true
	a.Status = func(context.Context, *Request) (Power, error) { return PowerOn, nil }
	runStdin(t, a, "action=status", "ip=sw").expect(t, 0, "Status: ON", "")
}

func TestUnsupportedAction(t *testing.T) {
	a := richAgent(newFakeDevice())
	runStdin(t, a, "action=explode", "ip=sw", "plug=vm1").expect(t, 1, "", "unsupported action \"explode\"")
	runArgs(t, a, "-o", "enable", "-a", "sw").expect(t, 1, "", "unsupported action")
	a.On = nil
	runStdin(t, a, "action=on", "ip=sw", "plug=vm1").expect(t, 1, "", "unsupported action \"on\"")
	runStdin(t, a, "action=reboot", "ip=sw", "plug=vm1").expect(t, 1, "", "unsupported action \"reboot\"")
}

func TestActionAliasesAndCase(t *testing.T) {
	a := richAgent(newFakeDevice())
	runStdin(t, a, "option=STATUS", "ip=sw", "port=vm1").expect(t, 0, "Status: ON", "")
	r := runStdin(t, a, "action=meta-data")
	r.expect(t, 0, "<resource-agent", "")
}

func TestUnfencingAgent(t *testing.T) {
	d := newFakeDevice()
	a := richAgent(d)
	a.Unfencing = true
	runStdin(t, a, "ip=sw", "plug=vm1").expect(t, 0, "Success: Powered OFF", "")
	runStdin(t, a, "action=reboot", "ip=sw", "plug=vm1").expect(t, 1, "", "unsupported action \"reboot\"")
	runStdin(t, a, "action=on", "ip=sw", "plug=vm1").expect(t, 0, "Success: Powered ON", "")
}

func TestHangingActionHitsDeadline(t *testing.T) {
	d := newFakeDevice()
	d.hang = true
	a := richAgent(d)
	start := time.Now()
	r := runStdin(t, a, "action=off", "ip=sw", "plug=vm1", "power_timeout=0.1")
	r.expect(t, 1, "", "timed out after 200ms and did not stop")
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %s", el)
	}
	// A slow but well-behaved command returns its context error in time.
	d = newFakeDevice()
	d.commandTime = time.Hour
	r = runStdin(t, richAgent(d), "action=on", "ip=sw", "plug=vm2", "power_timeout=0.1")
	r.expect(t, 1, "", "context deadline exceeded")
	if strings.Contains(r.stderr, "did not stop") {
		t.Errorf("well-behaved action reported as hung: %s", r.stderr)
	}
}

func TestAgentTimeoutOverride(t *testing.T) {
	d := newFakeDevice()
	d.hang = true
	a := richAgent(d)
	a.Timeouts = map[string]time.Duration{ActionOff: 50 * time.Millisecond}
	runStdin(t, a, "action=off", "ip=sw", "plug=vm1").expect(t, 1, "", "timed out after 50ms")
}

func TestBudget(t *testing.T) {
	a := richAgent(newFakeDevice())
	set := a.optionSet()
	v := newValues(set, map[string]string{"power_timeout": "10", "power_wait": "2", "delay": "5"})
	for act, want := range map[string]time.Duration{
		ActionOn: 22 * time.Second, ActionOff: 27 * time.Second, ActionReboot: 49 * time.Second,
		ActionStatus: 10 * time.Second, ActionList: 10 * time.Second, ActionValidateAll: 10 * time.Second,
	} {
		if got := a.budget(act, v); got != want {
			t.Errorf("budget(%s) = %s, want %s", act, got, want)
		}
	}
	v = newValues(set, nil)
	if got := a.budget(ActionOff, v); got != 40*time.Second {
		t.Errorf("default off budget %s", got)
	}
	a.Timeouts = map[string]time.Duration{ActionStatus: 3 * time.Second}
	if got := a.budget(ActionStatus, v); got != 3*time.Second {
		t.Errorf("override %s", got)
	}
}

func TestDelay(t *testing.T) {
	d := newFakeDevice()
	a := richAgent(d)
	start := time.Now()
	runStdin(t, a, "action=off", "ip=sw", "plug=vm1", "delay=0.3").expect(t, 0, "Powered OFF", "")
	if time.Since(start) < 300*time.Millisecond {
		t.Error("delay not applied to off")
	}
	start = time.Now()
	runStdin(t, a, "action=on", "ip=sw", "plug=vm1", "delay=5").expect(t, 0, "Powered ON", "")
	if time.Since(start) > 2*time.Second {
		t.Error("delay applied to on")
	}
}

func TestInterruptedByParent(t *testing.T) {
	d := newFakeDevice()
	d.hang = true
	a := richAgent(d)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var out, errb strings.Builder
	code := a.run(ctx, nil, strings.NewReader("action=off\nip=sw\nplug=vm1\n"), &out, &errb, runConfig{grace: 20 * time.Millisecond})
	if code != 1 || !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("code %d stderr %s", code, errb.String())
	}
}

func TestPanicInAgent(t *testing.T) {
	a := richAgent(newFakeDevice())
	a.Status = func(context.Context, *Request) (Power, error) { panic("boom") }
	runStdin(t, a, "action=status", "ip=sw", "plug=vm1").expect(t, 1, "", "panic: boom")
}

func TestSecretsNeverLogged(t *testing.T) {
	dir := t.TempDir()
	dbg := filepath.Join(dir, "debug.log")
	a := richAgent(newFakeDevice())
	a.Off = func(_ context.Context, r *Request) error {
		r.Log.Errorf("device rejected password %s", r.Values.Get("password"))
		return errors.New("login with hunter2 failed")
	}
	r := runStdin(t, a, "action=off", "ip=sw", "plug=vm1", "username=admin", "password=hunter2", "verbose=1", "debug_file="+dbg)
	r.expect(t, 1, "", "validating password ****** for admin")
	data, err := os.ReadFile(dbg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{r.stdout, r.stderr, string(data)} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret leaked:\n%s", s)
		}
	}
	if !strings.Contains(string(data), "password=******") || !strings.Contains(string(data), "login with ****** failed") {
		t.Errorf("debug file:\n%s", data)
	}
	// Command line too.
	var out, errb strings.Builder
	a.Main([]string{"-o", "off", "-n", "vm1", "-a", "sw", "-p", "hunter2", "-v"}, nil, &out, &errb)
	if strings.Contains(errb.String(), "hunter2") || !strings.Contains(errb.String(), "******") {
		t.Errorf("argv secret:\n%s", errb.String())
	}
}

func TestVerboseAndQuiet(t *testing.T) {
	a := richAgent(newFakeDevice())
	r := runStdin(t, a, "action=status", "ip=sw", "plug=vm1")
	if strings.Contains(r.stderr, "DEBUG") {
		t.Errorf("debug without verbose: %s", r.stderr)
	}
	r = runStdin(t, a, "action=status", "ip=sw", "plug=vm1", "verbose=yes")
	if !strings.Contains(r.stderr, "DEBUG: options:") {
		t.Errorf("no debug with verbose: %s", r.stderr)
	}
	r = runStdin(t, a, "action=status", "ip=sw", "plug=nope", "quiet=1")
	if r.code != 1 || r.stderr != "" {
		t.Errorf("quiet: %d %q", r.code, r.stderr)
	}
}

func TestDebugFileUnwritableIsNotFatal(t *testing.T) {
	a := richAgent(newFakeDevice())
	runStdin(t, a, "action=status", "ip=sw", "plug=vm1", "debug_file=/nonexistent/dir/x.log").
		expect(t, 0, "Status: ON", "cannot open debug file")
}

func TestHelpVersionManpage(t *testing.T) {
	a := richAgent(newFakeDevice())
	r := runArgs(t, a, "-h")
	r.expect(t, 0, "Usage:", "")
	for _, s := range []string{"-o, --action=[action]", "-n, --plug=[id] (or --port)", "-a, --ip=[ip]", "-p, --password=[password]",
		"--power-timeout=[seconds]", "-D, --debug-file=[debugfile]", "--login-timeout=[seconds]", "(default 623)"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("help lacks %q:\n%s", s, r.stdout)
		}
	}
	runArgs(t, a, "--version").expect(t, 0, "1.2.3\n", "")
	runStdin(t, a, "version=1").expect(t, 0, "1.2.3", "")
	r = runArgs(t, a, "-o", "manpage")
	r.expect(t, 0, ".TH FENCE_TEST 8", "")
	for _, s := range []string{".SH OPTIONS", `\-\-power\-timeout`, ".B list\\-status", "Fence agent for tests & <checks>"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("manpage lacks %q", s)
		}
	}
}

func TestParseErrorsExit1(t *testing.T) {
	a := richAgent(newFakeDevice())
	runArgs(t, a, "--bogus").expect(t, 1, "", "Parse error: option --bogus not recognized")
	runArgs(t, a, "-o").expect(t, 1, "", "requires a value")
	runArgs(t, a, "--verbose=2").expect(t, 1, "", "takes no value")
	var out, errb strings.Builder
	big := strings.NewReader(strings.Repeat("x", maxStdin+10))
	if code := a.Main(nil, big, &out, &errb); code != 1 || !strings.Contains(errb.String(), "stdin: too large") {
		t.Errorf("oversized stdin: %d %s", code, errb.String())
	}
	if code := a.Main(nil, errReader{}, &out, &errb); code != 1 {
		t.Errorf("stdin read error: %d", code)
	}
	// A stdin nobody closes: the agent gives up after stdinTimeout, with a reason.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer r.Close()
	io.WriteString(w, "action=off\nplug=a\n")
	errb.Reset()
	if code := a.Main(nil, r, &out, &errb); code != 1 || !strings.Contains(errb.String(), "stdin was not closed") {
		t.Errorf("stdin never closed: %d %s", code, errb.String())
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("EIO") }

func TestArgvDrivesActions(t *testing.T) {
	d := newFakeDevice()
	a := richAgent(d)
	// argv wins: stdin (which asks for off vm1) is not read.
	runArgs(t, a, "-a", "sw", "-n", "vm2", "-o", "status").expect(t, 2, "Status: OFF", "")
	runArgs(t, a, "--ip=sw", "--port", "vm1", "--action=status").expect(t, 0, "Status: ON", "")
	runArgs(t, a, "-asw", "-ooff", "-nvm3", "--power-timeout", "1", "--stonith-status-sleep=0.01").expect(t, 0, "Powered OFF", "")
	runArgs(t, a, "-a", "sw", "-o", "list", "-C", "|").expect(t, 0, "vm1|guest-vm1", "")
	runArgs(t, a, "-a", "sw", "-o", "status", "-n", "vm1", "stray").expect(t, 0, "Status: ON", "unused arguments")
}

func TestBrokenDeclaration(t *testing.T) {
	a := richAgent(newFakeDevice())
	a.Options = append(a.Options, Option{Name: "bad", Short: 'o', Description: "clash"})
	runStdin(t, a, "action=metadata").expect(t, 1, "", "agent definition error")
}
