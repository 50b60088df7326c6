package ceph

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddrPort(l.Addr().String())
	l.Close()
	return a
}

func listening(t *testing.T) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return netip.MustParseAddrPort(l.Addr().String())
}

func TestProbeMonitorsSaysWhatEachAddressDid(t *testing.T) {
	up, down := listening(t), closedPort(t)
	probes := ProbeMonitors(context.Background(), []MonAddrs{{V2: up, V1: down}, {V2: up}}, time.Second)
	if len(probes) != 2 {
		t.Fatalf("probes %v: each address once", probes)
	}
	if probes[0].Addr != up || probes[0].Proto != "v2" || probes[0].Err != nil || probes[0].Cause() != "accepts connections" {
		t.Errorf("listening address: %v", probes[0])
	}
	if probes[1].Addr != down || probes[1].Proto != "v1" || probes[1].Cause() != "connection refused" {
		t.Errorf("closed port: %v", probes[1])
	}
	if want := down.String() + " (v1): connection refused"; probes[1].String() != want {
		t.Errorf("String() = %q, want %q", probes[1].String(), want)
	}
}

func TestProbeMonitorsCauses(t *testing.T) {
	defer func(d dialFunc) { monDial = d }(monDial)
	errs := map[string]error{
		"10.0.0.1:3300": syscall.EHOSTUNREACH,
		"10.0.0.2:3300": syscall.ENETUNREACH,
		"10.0.0.3:3300": nil, // silent: blocks until the probe's deadline
	}
	monDial = func(ctx context.Context, _, addr string) (net.Conn, error) {
		if err := errs[addr]; err != nil {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: err}
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	var mons []MonAddrs
	for _, a := range []string{"10.0.0.1:3300", "10.0.0.2:3300", "10.0.0.3:3300"} {
		mons = append(mons, MonAddrs{V2: netip.MustParseAddrPort(a)})
	}
	start := time.Now()
	probes := ProbeMonitors(context.Background(), mons, 100*time.Millisecond)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the probe took %s with a 100ms wait", took)
	}
	want := []string{"no route to host", "network unreachable", "no answer within 100ms"}
	for i, p := range probes {
		if p.Cause() != want[i] {
			t.Errorf("%s: %q, want %q", p.Addr, p.Cause(), want[i])
		}
	}
	msg := (&MonitorsUnreachableError{Probes: probes}).Error()
	for _, w := range []string{"no monitor accepts connections", "10.0.0.1:3300 (v2): no route to host",
		"10.0.0.3:3300 (v2): no answer within 100ms"} {
		if !strings.Contains(msg, w) {
			t.Errorf("%q does not say %q", msg, w)
		}
	}
}

func TestMonitorsUnreachableErrorIsShort(t *testing.T) {
	var probes []MonProbe
	for i := range 100 {
		probes = append(probes, MonProbe{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 3300),
			Proto: "v2", Err: syscall.ECONNREFUSED})
	}
	msg := (&MonitorsUnreachableError{Probes: probes}).Error()
	if len(msg) > 600 || !strings.HasSuffix(msg, "and 92 more") {
		t.Fatalf("%d bytes: %s", len(msg), msg)
	}
}

func TestMonProbeWait(t *testing.T) {
	if w := monProbeWait(context.Background()); w != maxMonProbeWait {
		t.Errorf("no deadline: %s", w)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if w := monProbeWait(ctx); w > 500*time.Millisecond || w < 400*time.Millisecond {
		t.Errorf("2s left: %s, want a quarter", w)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel2()
	if w := monProbeWait(ctx2); w != minMonProbeWait {
		t.Errorf("1ms left: %s", w)
	}
}

// TestConnectFailsWithoutMonitors: librados is not asked to connect when no
// monitor address accepts; the error names every address. Refusing monitors
// are probed again for at most half the time left (a restarting monitor), so
// a 3 s context fails within about 1.5 s.
func TestConnectFailsWithoutMonitors(t *testing.T) {
	a, b := closedPort(t), closedPort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	c, err := Connect(ctx, Config{MonHosts: []string{"v2:" + a.String() + ",v1:" + b.String()}})
	if err == nil {
		c.Close()
		t.Fatal("connected to nothing")
	}
	var ue *MonitorsUnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), a.String()+" (v2): connection refused") ||
		!strings.Contains(err.Error(), b.String()+" (v1): connection refused") {
		t.Fatalf("error %v", err)
	}
	if took := time.Since(start); took > 2500*time.Millisecond {
		t.Fatalf("Connect took %s", took)
	}
}

// TestConnectWaitsForARestartingMonitor: a monitor that refuses at first and
// listens a moment later is found by the probe's retries.
func TestConnectProbeWaitsForARestartingMonitor(t *testing.T) {
	addr := closedPort(t)
	go func() {
		time.Sleep(600 * time.Millisecond)
		l, err := net.Listen("tcp", addr.String())
		if err != nil {
			return
		}
		t.Cleanup(func() { l.Close() })
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mons, err := ParseMonAddrs("v2:" + addr.String())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		probes := ProbeMonitors(ctx, mons, time.Second)
		if probes[0].Err == nil {
			break
		}
		if !mayRecover(probes[0]) || time.Since(start) > 3*time.Second {
			t.Fatalf("probe %v", probes[0])
		}
		time.Sleep(monProbeRetry)
	}
}

// TestMonProbePatience: Config.ProbePatience is honoured, negative means none, and the
// probe never takes more than half the time the context leaves.
func TestMonProbePatience(t *testing.T) {
	long, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	short, cancel2 := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel2()
	for _, c := range []struct {
		name  string
		ctx   context.Context
		asked time.Duration
		min   time.Duration
		max   time.Duration
	}{
		{"default", context.Background(), 0, maxMonProbePatience, maxMonProbePatience},
		{"none", long, -1, 0, 0},
		{"asked", long, 3 * time.Second, 3 * time.Second, 3 * time.Second},
		{"half of what is left", short, 0, time.Second, 2 * time.Second},
		{"asked but half of what is left", short, time.Minute, time.Second, 2 * time.Second},
	} {
		if got := monProbePatience(c.ctx, c.asked); got < c.min || got > c.max {
			t.Errorf("%s: patience %s, want %s to %s", c.name, got, c.min, c.max)
		}
	}
}
