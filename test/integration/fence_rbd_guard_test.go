//go:build lab

package integration

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestFenceRBDRefusesToBlocklistEveryone: against a real cluster, fence_rbd refuses a plug or
// a hosts entry that would blocklist every client, loopback, the monitor (which is also this
// host: the throwaway Ceph listens on the host side of the victim's veth pair) or another
// node, in validate-all and in off, and the cluster's blocklist is unchanged; the victim's
// own address still fences, written plainly or as a /32. A throwaway cluster: were the guard
// broken, the lab's Ceph, which other tests share, would lose every client.
func TestFenceRBDRefusesToBlocklistEveryone(t *testing.T) {
	loadLabEnv(t)
	bin := buildAgent(t, "cmd/fence_rbd")
	v := newVictimNet(t)
	c := startFenceCeph(t, v)
	conn := c.adapter(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	before, err := conn.Blocklist(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hostNet := v.hostIP[:strings.LastIndexByte(v.hostIP, '.')] + ".0/24"
	for _, tc := range []struct {
		opts map[string]string
		why  string
	}{
		{map[string]string{"port": "0.0.0.0/0"}, "0.0.0.0/0 covers every IPv4 address"},
		{map[string]string{"port": "::/0"}, "::/0 covers every IPv6 address"},
		{map[string]string{"port": "127.0.0.0/8"}, "covers the loopback network"},
		{map[string]string{"port": "::1"}, "::1 is the loopback address"},
		{map[string]string{"port": "224.0.0.1"}, "lies in the multicast network"},
		{map[string]string{"port": hostNet}, hostNet + " covers " + v.hostIP + ", an address of this host"},
		{map[string]string{"port": v.hostIP}, v.hostIP + " is an address of this host"},
		{map[string]string{"port": "victim", "hosts": "victim=0.0.0.0/0"}, "hosts: node victim: 0.0.0.0/0 covers every IPv4 address"},
		{map[string]string{"port": "victim", "hosts": "victim=" + hostNet}, "hosts: node victim: " + hostNet + " covers " + v.hostIP + ", a monitor's address"},
		{map[string]string{"port": "victim", "hosts": "victim=" + v.victimIP + ";other=" + v.victimIP}, "belongs to other in hosts"},
	} {
		for _, action := range []string{"validate-all", "off"} {
			opts := c.agentOptions(v, action)
			for k, val := range tc.opts {
				opts[k] = val
			}
			code, out, took := runFenceAgent(t, bin, opts)
			if code != 1 || !strings.Contains(out, tc.why) {
				t.Errorf("%s %v: exit %d, want 1 saying %q:\n%s", action, tc.opts, code, tc.why, out)
			}
			if took > 5*time.Second {
				t.Errorf("%s %v took %s", action, tc.opts, took)
			}
		}
	}
	after, err := conn.Blocklist(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("the blocklist changed: %v, was %v", after, before)
	}

	// The victim's own address fences, plainly or as a /32.
	for _, plug := range []string{v.victimIP, v.victimIP + "/32"} {
		opts := c.agentOptions(v, "off")
		opts["port"] = plug
		if code, out, _ := runFenceAgent(t, bin, opts); code != 0 || !strings.Contains(out, "Success") {
			t.Fatalf("off %s: exit %d\n%s", plug, code, out)
		}
		opts["action"] = "on"
		if code, out, _ := runFenceCommand(t, []string{"ip", "netns", "exec", v.ns, bin}, opts); code != 0 {
			t.Fatalf("on %s: exit %d\n%s", plug, code, out)
		}
	}
}

// TestFenceRBDNamesUnreachableMonitors: with no monitor accepting connections, fence_rbd
// fails at once and names every address and why, instead of waiting out its timeout and
// saying "context deadline exceeded".
func TestFenceRBDNamesUnreachableMonitors(t *testing.T) {
	env := loadLabEnv(t)
	bin := buildAgent(t, "cmd/fence_rbd")
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	a, b := closed(), closed()
	opts := map[string]string{"action": "status", "port": "node1", "hosts": "node1=10.231.255.1",
		"mon_host": fmt.Sprintf("[v2:%s,v1:%s]", a, b), "ceph_conf": env["CEPH_CONF"],
		"ceph_user": env["CEPH_USER"], "ceph_keyring": env["CEPH_KEYRING"]}
	code, out, took := runFenceAgent(t, bin, opts)
	for _, want := range []string{"no monitor accepts connections", a + " (v2): connection refused", b + " (v1): connection refused"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("status with the monitors down: exit %d, want 1 saying %q:\n%s", code, want, out)
		}
	}
	// A status is asked again soon: it does not wait for a restarting monitor (fencing
	// does), and never waits out its 20 s timeout.
	if strings.Contains(out, "context deadline exceeded") || took > 10*time.Second {
		t.Errorf("status with the monitors down took %s:\n%s", took, out)
	}
	t.Logf("fence_rbd status with the monitors down: %.0f ms", took.Seconds()*1000)
}
