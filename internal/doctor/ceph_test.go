package doctor

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/ceph"
)

// fakeResolver answers names from a table.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range f[host] {
		out = append(out, netip.MustParseAddr(s))
	}
	if len(out) == 0 {
		return nil, errors.New("no such host")
	}
	return out, nil
}

func TestMonitorsAllAnswer(t *testing.T) {
	v2, v1 := fakeMon(t, "ceph v2\n\x10\x00"), fakeMon(t, "ceph v027\x00\x00")
	mons := []string{"[v2:" + v2 + ",v1:" + v1 + "]"}
	s := &fakeSession{pools: map[string]map[string]map[string]uint64{"rbd": {"": {"a": 1, "b": 1}}}}
	rs := runNamed(t, testDoctor("", mons, s, nil), "ceph")
	expect(t, rs["ceph-mon"], Pass, "2 monitor addresses answer: "+v2+" (msgr2), "+v1+" (msgr1)", "")
	expect(t, rs["cephx"], Pass, "client.kvmha authenticated and reads rbd (2 images)", "")
	if !s.closed {
		t.Error("the session was not closed after the run")
	}
}

func TestMonitorsUnreachable(t *testing.T) {
	good := fakeMon(t, "ceph v2\n")
	refused := closedPort(t)
	notCeph := fakeMon(t, "SSH-2.0-OpenSSH_9.2\r\n")
	_, goodPort, _ := strings.Cut(good, ":")
	// mon.example resolves to two addresses: one answers, one does not
	// (an AAAA record this host cannot reach, in real life).
	d := testDoctor("", []string{"v2:mon.example:" + goodPort, refused, notCeph, "gone.example"}, &fakeSession{}, nil)
	d.Resolver = fakeResolver{"mon.example": {"127.0.0.1", "127.0.0.2"}}
	rs := runNamed(t, d, "ceph-mon")
	r := rs["ceph-mon"]
	expect(t, r, Fail, "unreachable", "start the monitors, or correct --mon-host (unreachable: ")
	for _, want := range []string{refused + " (v1): connection refused", notCeph + " (v1): answers, but not as a Ceph monitor",
		"gone.example: resolving gone.example", "127.0.0.2:" + goodPort + " (v2)"} {
		if !strings.Contains(r.Detail, want) || !strings.Contains(r.Fix, want) {
			t.Errorf("%q missing from %q / %q", want, r.Detail, r.Fix)
		}
	}
	if strings.Contains(r.Detail, "127.0.0.1:"+goodPort+" (v2):") {
		t.Errorf("the answering address is reported: %s", r.Detail)
	}
}

func TestProtocolMismatch(t *testing.T) {
	v1 := fakeMon(t, "ceph v027")
	rs := runNamed(t, testDoctor("", []string{"v2:" + v1}, &fakeSession{}, nil), "ceph-mon")
	expect(t, rs["ceph-mon"], Fail, v1+" speaks msgr1, not v2", "correct --mon-host")
}

func TestSessionNeedsAnsweringMonitors(t *testing.T) {
	connected := false
	d := testDoctor("", []string{closedPort(t)}, nil, nil)
	d.ConnectCeph = func(context.Context, ceph.Config) (CephSession, error) {
		connected = true
		return &fakeSession{}, nil
	}
	// ceph-mon runs: the others skip and point at it.
	rs := runNamed(t, d, "ceph", "clock", "krbd-features")
	expect(t, rs["ceph-mon"], Fail, "connection refused", "start the monitors")
	expect(t, rs["cephx"], Skip, "(see ceph-mon)", "")
	expect(t, rs["clock"], Skip, "(see ceph-mon)", "")
	// Alone, a dependent check reports the cause itself.
	d = testDoctor("", []string{closedPort(t)}, nil, nil)
	d.ConnectCeph = func(context.Context, ceph.Config) (CephSession, error) { connected = true; return nil, nil }
	expect(t, runNamed(t, d, "clock")["clock"], Fail, "no monitor answers", "start the monitors, or correct --mon-host")
	if connected {
		t.Error("connected although no monitor answered")
	}
}

func TestCephxFailures(t *testing.T) {
	mon := fakeMon(t, "ceph v2\n")
	d := testDoctor("", []string{"v2:" + mon}, nil, errno(13))
	d.Ceph.Keyring = ""
	rs := runNamed(t, d, "cephx", "clock")
	expect(t, rs["cephx"], Fail, "client.kvmha cannot authenticate", "ceph auth get client.kvmha -o /etc/ceph/ceph.client.kvmha.keyring")
	expect(t, rs["clock"], Skip, "(see cephx)", "")

	d = testDoctor("", []string{"v2:" + mon}, &fakeSession{}, nil)
	d.Ceph.Keyring = filepath.Join(t.TempDir(), "missing.keyring")
	expect(t, runNamed(t, d, "cephx")["cephx"], Fail, "missing.keyring: open", "--ceph-keyring")

	keyring := filepath.Join(t.TempDir(), "k")
	os.WriteFile(keyring, nil, 0o600)
	d = testDoctor("", []string{"v2:" + mon}, nil, errno(2))
	d.Ceph.Keyring = keyring
	expect(t, runNamed(t, d, "cephx")["cephx"], Fail, "no key for client.kvmha", "--ceph-keyring")

	s := &fakeSession{
		pools:  map[string]map[string]map[string]uint64{"rbd": {"": {}}, "vms": {"": {}}},
		denied: map[string]bool{"vms": true},
	}
	d = testDoctor("", []string{"v2:" + mon}, s, nil)
	d.Pools = []Pool{{Name: "rbd"}, {Name: "vms"}, {Name: "rbd", Namespace: "ns"}, {Name: "nopool"}}
	r := runNamed(t, d, "cephx")["cephx"]
	expect(t, r, Fail, "client.kvmha may not read pool vms", "ceph auth caps client.kvmha mon 'profile rbd' osd 'profile rbd pool=rbd, profile rbd pool=vms, profile rbd pool=rbd namespace=ns, profile rbd pool=nopool'")
	for _, want := range []string{"namespace rbd/ns does not exist", "pool nopool does not exist"} {
		if !strings.Contains(r.Detail, want) {
			t.Errorf("%q missing from %q", want, r.Detail)
		}
	}
}

func TestMonHostFromConfigFile(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "ceph.conf")
	os.WriteFile(conf, []byte("[global]\nfsid = 1\nmon host = 10.0.0.1:6789, [v2:10.0.0.2:3300,v1:10.0.0.2:6789]\n[client.other]\nmon_host = 10.9.9.9\n"), 0o644)
	d := testDoctor("", nil, nil, nil)
	d.Ceph.ConfPath = conf
	got, err := d.MonHost(d.Ceph)
	if err != nil || got != "10.0.0.1:6789, [v2:10.0.0.2:3300,v1:10.0.0.2:6789]" {
		t.Fatalf("%q %v", got, err)
	}
	d.Ceph.ConfPath = filepath.Join(t.TempDir(), "none.conf")
	expect(t, runNamed(t, d, "ceph-mon")["ceph-mon"], Fail, "cannot find the monitors", "--ceph-conf")
}

func TestSplitMonHost(t *testing.T) {
	got := ceph.SplitMonHost(" [v2:1.2.3.4:3300,v1:1.2.3.4:6789],mon.x;[::1]:6789\t10.0.0.1 ,")
	want := []string{"[v2:1.2.3.4:3300,v1:1.2.3.4:6789]", "mon.x", "[::1]:6789", "10.0.0.1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("%q", got)
	}
}
