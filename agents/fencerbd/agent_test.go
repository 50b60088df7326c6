package fencerbd

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/fence"
)

const testHosts = "node1=10.0.0.1;node2=10.0.0.2,10.0.1.2 node3:fd00::3"

// testSelf are the addresses of the host the tests' fence_rbd runs on.
var testSelf = []netip.Addr{netip.MustParseAddr("10.0.0.99"), netip.MustParseAddr("127.0.0.1")}

// testConf writes a configuration file naming the fake cluster's monitor.
func testConf(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ceph.conf")
	if err := os.WriteFile(path, []byte("[global]\nmon_host = [v2:10.0.9.1:3300,v1:10.0.9.1:6789]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// run runs the agent as pacemaker-fenced does (key=value on stdin) against c.
func run(t *testing.T, c *fakeCluster, stdin string) (code int, stdout, stderr string) {
	t.Helper()
	return runHosts(t, c, "hosts="+testHosts+"\n"+stdin)
}

// runHosts is run without the default hosts option.
func runHosts(t *testing.T, c *fakeCluster, stdin string) (code int, stdout, stderr string) {
	t.Helper()
	f := &fencer{deps: deps{hostname: "fencer1", dial: func(context.Context, ceph.Config) (cluster, error) {
		c.mu.Lock()
		c.dials++
		c.mu.Unlock()
		return c, nil
	}, localAddrs: func() ([]netip.Addr, error) { return testSelf, nil }}}
	var out, errb bytes.Buffer
	code = f.agent().Main(nil, strings.NewReader("ceph_conf="+testConf(t)+"\n"+stdin+"\n"), &out, &errb)
	return code, out.String(), errb.String()
}

func entries(t *testing.T, es ...string) ceph.Blocklist {
	t.Helper()
	var bl ceph.Blocklist
	for _, s := range es {
		e, err := ceph.ParseBlocklistEntry(s)
		if err != nil {
			t.Fatal(err)
		}
		bl = append(bl, e)
	}
	return bl
}

func blocklistIs(t *testing.T, c *fakeCluster, want ...string) {
	t.Helper()
	var got []string
	for _, e := range c.bl {
		got = append(got, e.String())
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("blocklist is %v, want %v", got, want)
	}
}

func TestOffOnRoundTrip(t *testing.T) {
	c := newFakeCluster()
	code, out, errs := run(t, c, "action=off\nplug=node2")
	if code != 0 || !strings.Contains(out, "Success: Powered OFF") {
		t.Fatalf("off: %d %q %s", code, out, errs)
	}
	blocklistIs(t, c, "10.0.0.2:0/0", "10.0.1.2:0/0")
	if c.expires["10.0.0.2:0/0"] != 10*365*24*time.Hour || c.waits != 1 || c.dials != 1 {
		t.Fatalf("expire %v, waits %d, dials %d", c.expires, c.waits, c.dials)
	}
	rec := string(c.objects["kvmha/fence_rbd/node2"])
	if !strings.Contains(rec, `"entry":"10.0.0.2:0/0"`) || !strings.Contains(rec, `"by":"fencer1"`) {
		t.Fatalf("record: %s", rec)
	}
	if code, out, _ := run(t, c, "action=status\nport=node2"); code != fence.ExitOff || out != "Status: OFF\n" {
		t.Fatalf("status after off: %d %q", code, out)
	}
	if code, out, _ := run(t, c, "action=status\nport=node1"); code != 0 || out != "Status: ON\n" {
		t.Fatalf("status of another node: %d %q", code, out)
	}
	if code, out, _ := run(t, c, "action=off\nplug=node2"); code != 0 || !strings.Contains(out, "Already OFF") {
		t.Fatalf("second off: %d %q", code, out)
	}
	code, out, errs = run(t, c, "action=on\nplug=node2")
	if code != 0 || !strings.Contains(out, "Success: Powered ON") {
		t.Fatalf("on: %d %q %s", code, out, errs)
	}
	blocklistIs(t, c)
	if len(c.objects) != 0 {
		t.Fatalf("record left behind: %v", c.objects)
	}
}

func TestOnRemovesOnlyOwnEntries(t *testing.T) {
	c := newFakeCluster()
	c.bl = entries(t, "10.0.0.2:0/0", "10.9.9.9:0/0") // an administrator's entries
	if code, _, errs := run(t, c, "action=off\nplug=node2"); code != 0 {
		t.Fatalf("off: %s", errs)
	}
	blocklistIs(t, c, "10.0.0.2:0/0", "10.9.9.9:0/0", "10.0.1.2:0/0")
	rec := string(c.objects["kvmha/fence_rbd/node2"])
	if strings.Contains(rec, "10.0.0.2:0/0") {
		t.Fatalf("recorded an entry it did not add: %s", rec)
	}
	code, _, errs := run(t, c, "action=on\nplug=node2")
	if code != 1 || !strings.Contains(errs, "still blocklisted by entries fence_rbd did not add: 10.0.0.2:0/0") {
		t.Fatalf("on with a foreign entry: %d %s", code, errs)
	}
	blocklistIs(t, c, "10.0.0.2:0/0", "10.9.9.9:0/0")
}

func TestPartialFenceIsUnknownAndCompleted(t *testing.T) {
	c := newFakeCluster()
	c.bl = entries(t, "10.0.1.2:0/0")
	code, out, errs := run(t, c, "action=status\nplug=node2")
	if code != 1 || !strings.Contains(out, "UNKNOWN") || !strings.Contains(errs, "partly fenced") {
		t.Fatalf("status: %d %q %s", code, out, errs)
	}
	if code, _, errs := run(t, c, "action=off\nplug=node2"); code != 0 {
		t.Fatalf("off: %s", errs)
	}
	blocklistIs(t, c, "10.0.1.2:0/0", "10.0.0.2:0/0")
}

func TestRangeCoversAddress(t *testing.T) {
	c := newFakeCluster()
	c.bl = entries(t, "10.0.0.0/24")
	if code, out, _ := run(t, c, "action=status\nplug=node1"); code != fence.ExitOff {
		t.Fatalf("an address inside a blocklisted range is fenced: %d %q", code, out)
	}
}

func TestPlugIsAddressList(t *testing.T) {
	c := newFakeCluster()
	if code, _, errs := run(t, c, "action=off\nplug=10.5.0.1,[fd00::9],10.6.0.0/16"); code != 0 {
		t.Fatalf("off: %s", errs)
	}
	blocklistIs(t, c, "10.5.0.1:0/0", "[fd00::9]:0/0", "10.6.0.0/16")
	if _, ok := c.objects["kvmha/fence_rbd/10.5.0.1/32,10.6.0.0/16,fd00::9/128"]; !ok {
		t.Fatalf("record name: %v", c.objects)
	}
}

func TestRecordFailureDoesNotBlockFencing(t *testing.T) {
	c := newFakeCluster()
	c.writeErr = errBoom
	code, _, errs := run(t, c, "action=off\nplug=node1")
	if code != 0 || !strings.Contains(errs, "could not record") || !strings.Contains(errs, "ceph osd blocklist rm 10.0.0.1:0/0") {
		t.Fatalf("off: %d %s", code, errs)
	}
	blocklistIs(t, c, "10.0.0.1:0/0")
}

func TestAddFailureFails(t *testing.T) {
	c := newFakeCluster()
	c.addErr = errBoom
	if code, _, errs := run(t, c, "action=off\nplug=node1"); code != 1 || !strings.Contains(errs, "boom") {
		t.Fatalf("off: %d %s", code, errs)
	}
}

func TestDamagedRecord(t *testing.T) {
	c := newFakeCluster()
	c.bl = entries(t, "10.0.0.1:0/0")
	c.objects["kvmha/fence_rbd/node1"] = []byte("{not json")
	if code, _, errs := run(t, c, "action=on\nplug=node1"); code != 1 || !strings.Contains(errs, "damaged record") {
		t.Fatalf("on: %d %s", code, errs)
	}
}

func TestHoldersAreReported(t *testing.T) {
	c := newFakeCluster()
	mine, _ := ceph.ParseEntityAddr("10.0.0.2:0/3282")
	other, _ := ceph.ParseEntityAddr("10.0.0.1:0/77")
	c.holders["rbd/"] = []ceph.Holder{
		{Kind: ceph.Watcher, Entity: "client.4100", Addr: mine, Pool: "rbd", Image: "vm1"},
		{Kind: ceph.Locker, Entity: "client.4200", Addr: other, Pool: "rbd", Image: "vm9"},
	}
	code, _, errs := run(t, c, "action=off\nplug=node2\nverbose=1")
	if code != 0 || !strings.Contains(errs, "fenced client.4100 at 10.0.0.2:0/3282 (watcher of rbd/vm1)") || strings.Contains(errs, "client.4200") {
		t.Fatalf("off: %d %s", code, errs)
	}
}

// TestUnfenceKeepsTheFencedClientsBlocklisted: off records the target's image
// holders; on keeps each of those client instances blocklisted before it
// removes the node's entries, so a lock a dead client of the fenced
// incarnation still holds can be broken after the node is back.
func TestUnfenceKeepsTheFencedClientsBlocklisted(t *testing.T) {
	c := newFakeCluster()
	locker, _ := ceph.ParseEntityAddr("10.0.0.2:0/3282")
	watcher, _ := ceph.ParseEntityAddr("10.0.1.2:0/4100")
	c.holders["rbd/"] = []ceph.Holder{
		{Kind: ceph.Locker, Entity: "client.4100", Addr: locker, Pool: "rbd", Image: "vm1", Cookie: "auto 1"},
		{Kind: ceph.Watcher, Entity: "client.4200", Addr: watcher, Pool: "rbd", Image: "vm2"},
	}
	if code, _, errs := run(t, c, "action=off\nplug=node2"); code != 0 {
		t.Fatalf("off: %s", errs)
	}
	rec := string(c.objects["kvmha/fence_rbd/node2"])
	if !strings.Contains(rec, `"addr":"10.0.0.2:0/3282"`) || !strings.Contains(rec, `"image":"rbd/vm1"`) || !strings.Contains(rec, "10.0.1.2:0/4100") {
		t.Fatalf("record: %s", rec)
	}
	code, _, errs := run(t, c, "action=on\nplug=node2\nverbose=1")
	if code != 0 || !strings.Contains(errs, "fenced client instances stay blocklisted") {
		t.Fatalf("on: %d %s", code, errs)
	}
	blocklistIs(t, c, "10.0.0.2:0/3282", "10.0.1.2:0/4100")
	if c.expires["10.0.0.2:0/3282"] != holderExpire {
		t.Fatalf("expire %v", c.expires)
	}
	if code, out, _ := run(t, c, "action=status\nplug=node2"); code != 0 || out != "Status: ON\n" {
		t.Fatalf("status after on: %d %q", code, out)
	}
}

func TestListAndListStatus(t *testing.T) {
	c := newFakeCluster()
	if code, out, _ := run(t, c, "action=list"); code != 0 || out != "node1,\nnode2,\nnode3,\n" || c.dials != 0 {
		t.Fatalf("list: %d %q (dials %d)", code, out, c.dials)
	}
	c.bl = entries(t, "fd00::3")
	if code, out, _ := run(t, c, "action=list-status"); code != 0 || out != "node1,,on\nnode2,,on\nnode3,,off\n" {
		t.Fatalf("list-status: %d %q", code, out)
	}
}

func TestBadOptions(t *testing.T) {
	c := newFakeCluster()
	for stdin, msg := range map[string]string{
		"action=off\nplug=node9":                     `node "node9" is not in hosts`,
		"action=off\nplug=node1\nexpire=0":           "shorter than a second",
		"action=off\nplug=node1\nexpire=ten":         "whole number",
		"action=off\nplug=node1\npools=a/b/c":        "not pool or pool/namespace",
		"action=off\nplug=node1\nmon_host=bad_host!": "mon_host",
		"action=off\nplug=node1\nceph_user=a b":      "not a cephx id",
		"action=monitor\nceph_keyring=/nonexistent":  "ceph_keyring",
	} {
		code, _, errs := run(t, c, stdin)
		if code != 1 || !strings.Contains(errs, msg) || strings.Contains(errs, "panic") {
			t.Errorf("%q: %d %s", stdin, code, errs)
		}
	}
	if len(c.bl) != 0 {
		t.Fatal("a bad request changed the blocklist")
	}
}

func TestMetadataAdvertisesUnfencing(t *testing.T) {
	var out bytes.Buffer
	if New().Main([]string{"-o", "metadata"}, nil, &out, &out) != 0 {
		t.Fatal(out.String())
	}
	if !strings.Contains(out.String(), `<action name="on" on_target="1" automatic="1"`) {
		t.Fatalf("meta-data: %s", out.String())
	}
}

func TestHostsParsing(t *testing.T) {
	m, err := parseHosts(" node1=10.0.0.1;node2:10.0.0.2,[fd00::2] n3.example.com=fd00::3,10.3.0.0/16\n")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.names, " ") != "node1 node2 n3.example.com" {
		t.Fatalf("names %v", m.names)
	}
	if got := m.addrs["n3.example.com"]; len(got) != 2 || got[1] != netip.MustParsePrefix("10.3.0.0/16") {
		t.Fatalf("n3: %v", got)
	}
	for _, bad := range []string{"node1", "node1=", "=10.0.0.1", "node1=10.0.0.1;node1=10.0.0.2", "node1=10.0.0.300",
		"node1=10.0.0.1/33", "node1=10.0.0.1/8", "no de=1.2.3.4", "node1=fe80::1%eth0", "node1=host.example"} {
		if _, err := parseHosts(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseExpire(t *testing.T) {
	for in, want := range map[string]time.Duration{"3600": time.Hour, "90s": 90 * time.Second, "15m": 15 * time.Minute,
		"12h": 12 * time.Hour, "30d": 30 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "10y": 3650 * 24 * time.Hour, " 1 ": time.Second} {
		if got, err := parseExpire(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0", "0s", "-1", "1.5h", "h", "51y", "99999999999999y", "1e3", "10 y"} {
		if d, err := parseExpire(bad); err == nil {
			t.Errorf("%q accepted as %v", bad, d)
		}
	}
}
