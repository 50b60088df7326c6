package fence

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/deadline"
)

// fakeDevice is an in-memory power switch driven by the test agent.
type fakeDevice struct {
	mu          sync.Mutex
	power       map[string]Power
	calls       []string
	failOn      bool
	failOff     bool
	failStatus  bool
	failList    bool
	stuck       bool          // commands succeed but the state never changes
	unknown     bool          // status answers PowerUnknown
	lagPolls    int           // status keeps reporting the old state this many times
	hang        bool          // On/Off block, ignoring their context
	commandTime time.Duration // On/Off take this long (honouring ctx)
	pending     map[string]Power
	lag         map[string]int
}

var errDevice = errors.New("device says no")

func newFakeDevice() *fakeDevice {
	return &fakeDevice{
		power:   map[string]Power{"vm1": PowerOn, "vm2": PowerOff, "vm3": PowerOn},
		pending: map[string]Power{},
		lag:     map[string]int{},
	}
}

func (d *fakeDevice) record(s string) {
	d.mu.Lock()
	d.calls = append(d.calls, s)
	d.mu.Unlock()
}

func (d *fakeDevice) callLog() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.calls, " ")
}

func (d *fakeDevice) set(ctx context.Context, r *Request, p Power) error {
	d.record(p.String() + ":" + r.Plug)
	d.mu.Lock()
	hang, fail, ct := d.hang, (p == PowerOn && d.failOn) || (p == PowerOff && d.failOff), d.commandTime
	d.mu.Unlock()
	if hang {
		select {} // a broken device library that ignores its context
	}
	if ct > 0 {
		if err := deadline.Sleep(ctx, ct); err != nil {
			return err
		}
	}
	if fail {
		return errDevice
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.power[r.Plug]; !ok {
		return errors.New("no such plug")
	}
	if d.stuck {
		return nil
	}
	if d.lagPolls > 0 {
		d.pending[r.Plug] = p
		d.lag[r.Plug] = d.lagPolls
		return nil
	}
	d.power[r.Plug] = p
	return nil
}

func (d *fakeDevice) status(_ context.Context, r *Request) (Power, error) {
	d.record("status:" + r.Plug)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failStatus {
		return PowerUnknown, errDevice
	}
	if d.unknown {
		return PowerUnknown, nil
	}
	if p, ok := d.pending[r.Plug]; ok {
		if d.lag[r.Plug] <= 0 {
			d.power[r.Plug] = p
			delete(d.pending, r.Plug)
		} else {
			d.lag[r.Plug]--
		}
	}
	p, ok := d.power[r.Plug]
	if !ok {
		return PowerUnknown, errors.New("no such plug")
	}
	return p, nil
}

func (d *fakeDevice) list(_ context.Context, r *Request) ([]Plug, error) {
	d.record("list")
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failList {
		return nil, errDevice
	}
	var ids []string
	for id := range d.power {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []Plug
	for _, id := range ids {
		p := Plug{ID: id, Alias: "guest-" + id}
		if r.Action == ActionListStatus {
			p.State = d.power[id]
		}
		out = append(out, p)
	}
	return out, nil
}

// richAgent declares options of every type, as a real agent would.
func richAgent(d *fakeDevice) *Agent {
	return &Agent{
		Name:      "fence_test",
		ShortDesc: "Fence agent for tests & <checks>",
		LongDesc:  "fence_test drives an in-memory switch.\nIt exists for the \"unit tests\".",
		VendorURL: "https://example.invalid/kvmha",
		Version:   "1.2.3",
		Options: []Option{
			{Name: "ip", Short: 'a', Type: String, Required: true, Description: "Address of the switch", Placeholder: "ip", Aliases: []string{"ipaddr"}},
			{Name: "ipport", Short: 'u', Type: Integer, Default: "623", Description: "TCP port of the switch", Placeholder: "port"},
			{Name: "username", Short: 'l', Long: "username", Type: String, Description: "Login name", Aliases: []string{"login"}},
			{Name: "password", Short: 'p', Type: String, Secret: true, Description: "Login password", Aliases: []string{"passwd"}},
			{Name: "ssl", Short: 'z', Type: Boolean, Description: "Use TLS"},
			{Name: "method", Short: 'm', Type: String, Default: "onoff", Choices: []string{"onoff", "cycle"}, Description: "Fencing method"},
			{Name: "login_timeout", Type: Second, Default: "5", Description: "Seconds allowed for login"},
		},
		Status: d.status,
		On:     func(ctx context.Context, r *Request) error { return d.set(ctx, r, PowerOn) },
		Off:    func(ctx context.Context, r *Request) error { return d.set(ctx, r, PowerOff) },
		List:   d.list,
		Validate: func(_ context.Context, r *Request) error {
			if r.Values.Get("ip") == "bad.invalid" {
				return errors.New("ip bad.invalid is not reachable")
			}
			if r.Values.Get("password") != "" {
				r.Log.Debugf("validating password %s for %s", r.Values.Get("password"), r.Values.Get("username"))
			}
			return nil
		},
	}
}

type result struct {
	code           int
	stdout, stderr string
}

// runStdin runs the agent with stdin lines and fast timing defaults.
func runStdin(t *testing.T, a *Agent, lines ...string) result {
	t.Helper()
	in := strings.Join(append([]string{"stonith_status_sleep=0.01"}, lines...), "\n") + "\n"
	var out, errb bytes.Buffer
	code := a.run(context.Background(), nil, strings.NewReader(in), &out, &errb, runConfig{grace: 100 * time.Millisecond})
	return result{code, out.String(), errb.String()}
}

func runArgs(t *testing.T, a *Agent, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := a.Main(args, strings.NewReader("action=off\nplug=vm1\n"), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func (r result) expect(t *testing.T, code int, stdoutHas, stderrHas string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	if stdoutHas != "" && !strings.Contains(r.stdout, stdoutHas) {
		t.Errorf("stdout lacks %q:\n%s", stdoutHas, r.stdout)
	}
	if stderrHas != "" && !strings.Contains(r.stderr, stderrHas) {
		t.Errorf("stderr lacks %q:\n%s", stderrHas, r.stderr)
	}
}
