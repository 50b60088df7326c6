package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/fence"
)

// fakeSwitch plays the host-side power switch on a temp directory.
type fakeSwitch struct {
	dir      string
	mu       sync.Mutex
	requests []string // "<id> <line>" in arrival order
	exitCode int      // answer written to done/<id>
	paused   bool     // neither touch alive nor take requests
	mute     bool     // take requests but never answer
	garbled  []string // problems seen by the switch
	stop     chan struct{}
	stopped  chan struct{}
}

func newFakeSwitch(t *testing.T, nodes map[string]string) *fakeSwitch {
	t.Helper()
	s := &fakeSwitch{dir: t.TempDir(), stop: make(chan struct{}), stopped: make(chan struct{})}
	for _, d := range []string{"req", "done", "power"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for n, st := range nodes {
		s.setPower(n, st)
	}
	s.touch()
	go s.loop()
	t.Cleanup(func() {
		close(s.stop)
		<-s.stopped
		if len(s.garbled) > 0 {
			t.Errorf("switch saw bad requests: %v", s.garbled)
		}
	})
	return s
}

func (s *fakeSwitch) setPower(node, state string) {
	tmp := filepath.Join(s.dir, "power", "."+node+".tmp")
	_ = os.WriteFile(tmp, []byte(state+"\n"), 0o644)
	_ = os.Rename(tmp, filepath.Join(s.dir, "power", node))
}

func (s *fakeSwitch) touch() {
	now := time.Now()
	f := filepath.Join(s.dir, "alive")
	if err := os.Chtimes(f, now, now); err != nil {
		_ = os.WriteFile(f, nil, 0o644)
	}
}

func (s *fakeSwitch) loop() {
	defer close(s.stopped)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		paused, code, mute := s.paused, s.exitCode, s.mute
		s.mu.Unlock()
		if paused {
			continue
		}
		s.touch()
		entries, _ := os.ReadDir(filepath.Join(s.dir, "req"))
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".req") {
				continue
			}
			id := strings.TrimSuffix(e.Name(), ".req")
			p := filepath.Join(s.dir, "req", e.Name())
			data, err := os.ReadFile(p)
			_ = os.Remove(p)
			line := string(data)
			s.mu.Lock()
			s.requests = append(s.requests, id+" "+strings.TrimSuffix(line, "\n"))
			s.mu.Unlock()
			if mute {
				continue
			}
			fields := strings.Fields(line)
			answer := code
			if err != nil || !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 || len(fields) != 2 {
				s.garbled = append(s.garbled, fmt.Sprintf("%q", line))
				answer = 9
			} else if _, err := os.Stat(filepath.Join(s.dir, "power", fields[1])); err != nil {
				answer = 3
			} else if answer == 0 {
				switch fields[0] {
				case "off":
					s.setPower(fields[1], "off")
				case "on", "reboot":
					s.setPower(fields[1], "on")
				default:
					answer = 4
				}
			}
			tmp := filepath.Join(s.dir, "done", "."+id)
			_ = os.WriteFile(tmp, []byte(fmt.Sprintf("%d\n", answer)), 0o644)
			_ = os.Rename(tmp, filepath.Join(s.dir, "done", id))
		}
	}
}

func (s *fakeSwitch) setPaused(p bool) {
	s.mu.Lock()
	s.paused = p
	s.mu.Unlock()
}

func (s *fakeSwitch) reqs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func (s *fakeSwitch) power(node string) string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "power", node))
	return strings.TrimSpace(string(b))
}

type res struct {
	code        int
	out, errout string
}

func (s *fakeSwitch) run(t *testing.T, lines ...string) res {
	t.Helper()
	in := "switch_dir=" + s.dir + "\nstonith_status_sleep=0.02\n" + strings.Join(lines, "\n") + "\n"
	var out, errb bytes.Buffer
	code := newAgent().Main(nil, strings.NewReader(in), &out, &errb)
	return res{code, out.String(), errb.String()}
}

func (r res) want(t *testing.T, code int, out, errout string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.out, out) || !strings.Contains(r.errout, errout) {
		t.Errorf("got exit %d, want %d (stdout want %q, stderr want %q)\nstdout: %s\nstderr: %s", r.code, code, out, errout, r.out, r.errout)
	}
}

var threeNodes = map[string]string{"node1": "on", "node2": "on", "node3": "off"}

func TestOffOnReboot(t *testing.T) {
	s := newFakeSwitch(t, threeNodes)
	s.run(t, "action=off", "port=node2", "nodename=node2").want(t, 0, "Success: Powered OFF", "")
	if s.power("node2") != "off" {
		t.Fatal("node2 still on")
	}
	s.run(t, "action=off", "plug=node2").want(t, 0, "Success: Already OFF", "")
	s.run(t, "action=on", "plug=node2").want(t, 0, "Success: Powered ON", "")
	s.run(t, "plug=node1").want(t, 0, "Success: Rebooted", "") // reboot is the default
	s.run(t, "action=reboot", "plug=node3").want(t, 0, "Success: Rebooted", "")
	var lines, ids []string
	for _, r := range s.reqs() {
		id, line, _ := strings.Cut(r, " ")
		ids = append(ids, id)
		lines = append(lines, line)
	}
	if strings.Join(lines, "|") != "off node2|on node2|reboot node1|reboot node3" {
		t.Errorf("requests: %q", lines)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || !strings.HasPrefix(id, fmt.Sprintf("%d-", os.Getpid())) {
			t.Errorf("bad or duplicate id %q", id)
		}
		seen[id] = true
	}
	// The agent cleans up the answers and leaves no temp files.
	for _, d := range []string{"req", "done"} {
		if e, _ := os.ReadDir(filepath.Join(s.dir, d)); len(e) != 0 {
			t.Errorf("%s/ not empty: %v", d, e)
		}
	}
}

func TestStatus(t *testing.T) {
	s := newFakeSwitch(t, threeNodes)
	s.run(t, "action=status", "plug=node1").want(t, 0, "Status: ON", "")
	s.run(t, "action=status", "plug=node3").want(t, 2, "Status: OFF", "")
	s.run(t, "action=status", "plug=node9").want(t, 1, "", "does not know node \"node9\"")
	s.setPower("node1", "confused")
	s.run(t, "action=status", "plug=node1").want(t, 1, "Status: UNKNOWN", "unknown")
	var out, errb bytes.Buffer
	code := newAgent().Main([]string{"--switch-dir", s.dir, "-o", "status", "-n", "node3"}, nil, &out, &errb)
	if code != 2 {
		t.Errorf("argv status: %d %s", code, errb.String())
	}
}

func TestList(t *testing.T) {
	s := newFakeSwitch(t, threeNodes)
	_ = os.WriteFile(filepath.Join(s.dir, "power", "node1.tmp.4242"), []byte("on\n"), 0o644)
	_ = os.WriteFile(filepath.Join(s.dir, "power", ".hidden"), []byte("on\n"), 0o644)
	r := s.run(t, "action=list")
	if r.code != 0 || r.out != "node1,\nnode2,\nnode3,\n" {
		t.Errorf("list: %d %q %s", r.code, r.out, r.errout)
	}
	r = s.run(t, "action=list-status")
	if r.code != 0 || r.out != "node1,,on\nnode2,,on\nnode3,,off\n" {
		t.Errorf("list-status: %d %q %s", r.code, r.out, r.errout)
	}
	s2 := &fakeSwitch{dir: t.TempDir()}
	s2.run(t, "action=list").want(t, 1, "", "cannot list plugs")
}

func TestMonitor(t *testing.T) {
	s := newFakeSwitch(t, threeNodes)
	s.run(t, "action=monitor").want(t, 0, "", "")
	s.setPaused(true)
	old := time.Now().Add(-6 * time.Second)
	if err := os.Chtimes(filepath.Join(s.dir, "alive"), old, old); err != nil {
		t.Fatal(err)
	}
	s.run(t, "action=monitor").want(t, 1, "", "not touched for 6")
	_ = os.Remove(filepath.Join(s.dir, "alive"))
	s.run(t, "action=monitor").want(t, 1, "", "the power switch is not running")
}

func TestSwitchFailure(t *testing.T) {
	s := newFakeSwitch(t, threeNodes)
	s.mu.Lock()
	s.exitCode = 7
	s.mu.Unlock()
	s.run(t, "action=off", "plug=node1").want(t, 1, "", "failed to off node1 (exit code 7")
	s.run(t, "action=reboot", "plug=node1").want(t, 1, "", "exit code 7")
}

func TestSwitchDeadWithdrawsRequest(t *testing.T) {
	s := newFakeSwitch(t, threeNodes)
	s.setPaused(true)
	start := time.Now()
	s.run(t, "action=off", "plug=node1", "power_timeout=0.2").want(t, 1, "", "did not answer request")
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %s", el)
	}
	if e, _ := os.ReadDir(filepath.Join(s.dir, "req")); len(e) != 0 {
		t.Errorf("request left behind: %v", e)
	}
	s.setPaused(false)
	time.Sleep(50 * time.Millisecond)
	if len(s.reqs()) != 0 || s.power("node1") != "on" {
		t.Error("a withdrawn request was executed")
	}
}

func TestValidate(t *testing.T) {
	s := newFakeSwitch(t, threeNodes)
	s.run(t, "action=validate-all").want(t, 0, "", "")
	s.run(t, "action=validate-all", "switch_dir=relative/dir").want(t, 1, "", "must be an absolute path")
	s.run(t, "action=off", "plug=../etc").want(t, 1, "", "not a node name")
	s.run(t, "action=off", "plug=node1 node2").want(t, 1, "", "not a node name")
	s.run(t, "action=off").want(t, 1, "", "no plug given")
	if len(s.reqs()) != 0 {
		t.Errorf("invalid input reached the switch: %v", s.reqs())
	}
	if !strings.Contains(newAgentHelp(t), "--switch-dir=[dir]") {
		t.Error("help lacks --switch-dir")
	}
}

func newAgentHelp(t *testing.T) string {
	var out, errb bytes.Buffer
	if code := newAgent().Main([]string{"--help"}, nil, &out, &errb); code != 0 {
		t.Fatalf("help exit %d", code)
	}
	return out.String()
}

func TestRequestWithoutSwitchDirs(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := newAgent().Main(nil, strings.NewReader("action=reboot\nplug=node1\nswitch_dir="+dir+"\n"), &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "writing the request") {
		t.Errorf("%d %s", code, errb.String())
	}
}

func TestMetadata(t *testing.T) {
	if err := newAgent().Check(); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := newAgent().Main([]string{"-o", "metadata"}, nil, &out, &errb); code != 0 {
		t.Fatalf("metadata exit %d: %s", code, errb.String())
	}
	for _, s := range []string{`<parameter name="switch_dir"`, `mixed="--switch-dir=[dir]"`, `default="/var/lib/kvmha-lab/switch"`, `<action name="reboot"/>`, `<parameter name="plug" unique="0" required="1"`} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("meta-data lacks %s", s)
		}
	}
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("xmllint not found (install libxml2-utils): %v", err)
	}
	f := filepath.Join(t.TempDir(), "md.xml")
	if err := os.WriteFile(f, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if o, err := exec.Command(bin, "--noout", "--relaxng", "/usr/share/cluster/relaxng/metadata.rng", f).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, o)
	}
}

func TestTakenButUnanswered(t *testing.T) {
	s := newFakeSwitch(t, threeNodes)
	s.mu.Lock()
	s.mute = true
	s.mu.Unlock()
	s.run(t, "action=off", "plug=node1", "power_timeout=0.2").want(t, 1, "", "no answer from the power switch")
	if len(s.reqs()) != 1 {
		t.Errorf("requests: %v", s.reqs())
	}
}

func TestRequestHonoursContext(t *testing.T) {
	s := newFakeSwitch(t, threeNodes)
	s.setPaused(true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	r := &fence.Request{Action: "off", Plug: "node2"}
	start := time.Now()
	if err := labSwitch(s.dir).request(ctx, r, "off"); err == nil || time.Since(start) > time.Second {
		t.Errorf("request: %v after %s", err, time.Since(start))
	}
	if err := labSwitch(s.dir).alive(time.Now().Add(time.Hour)); err == nil {
		t.Error("stale alive accepted")
	}
}
