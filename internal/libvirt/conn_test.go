package libvirt

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
)

func TestDialMissingSocketIsUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Dial(ctx, "qemu:///system?socket="+filepath.Join(t.TempDir(), "none"))
	if !errors.Is(err, ErrUnreachable) || IsTimeout(err) {
		t.Fatalf("want unreachable (not a timeout), got %v", err)
	}
}

// A daemon that accepts the connection but never answers (SIGSTOP): Dial
// must give up when its context ends.
func TestDialSilentDaemonGivesUpOnDeadline(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "sock")
	silentListener(t, "unix", sock)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Dial(ctx, "qemu:///system?socket="+sock)
	if !IsTimeout(err) {
		t.Fatalf("want a timeout, got %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Dial took %v", took)
	}
}

func TestLookupAndStateRoundTrip(t *testing.T) {
	uuid := [16]byte{0xdc, 0x22, 0x9f, 0x87, 0xd4, 0xde, 0x47, 0x19, 0x8c, 0xfd, 0x2e, 0x21, 0xc6, 0x10, 0x5b, 0x01}
	d := newFakeDaemon(t, map[uint32]reply{
		procDomainLookupByName: {payload: xdrDomain("vm1", uuid, 7)},
		procDomainGetState:     {payload: append(xdrUint32(uint32(StateRunning)), xdrUint32(1)...)},
	})
	ctx, c := d.dial()
	dom, err := c.LookupDomain(ctx, "vm1")
	if err != nil {
		t.Fatal(err)
	}
	if dom.Name != "vm1" || dom.UUID != "dc229f87-d4de-4719-8cfd-2e21c6105b01" || dom.ID != 7 {
		t.Fatalf("unexpected domain %+v", dom)
	}
	state, err := c.DomainState(ctx, dom)
	if err != nil || state != StateRunning {
		t.Fatalf("state %v, %v", state, err)
	}
	c.Close()
	if !d.called(procConnectClose) {
		t.Error("Close did not send ConnectClose")
	}
	if _, err := c.DomainState(ctx, dom); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("call after Close: %v", err)
	}
}

func TestErrorsClassifiedByCode(t *testing.T) {
	d := newFakeDaemon(t, map[uint32]reply{
		procDomainLookupByName: {errCode: uint32(golibvirt.ErrNoDomain)},
		procDomainDestroy:      {errCode: uint32(golibvirt.ErrOperationInvalid)},
		procDomainGetState:     {errCode: uint32(golibvirt.ErrInternalError)},
	})
	ctx, c := d.dial()
	_, err := c.DomainByName(ctx, "missing")
	if !errors.Is(err, ErrNotFound) || Code(err) != int(golibvirt.ErrNoDomain) {
		t.Fatalf("lookup: want not found, got %v (code %d)", err, Code(err))
	}
	dom, _ := DomainRef("vm", "dc229f87-d4de-4719-8cfd-2e21c6105b01")
	if err := c.Destroy(ctx, dom); !errors.Is(err, ErrInvalidOperation) {
		t.Fatalf("destroy: want invalid operation, got %v", err)
	}
	_, err = c.DomainState(ctx, dom)
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnreachable) {
		t.Fatalf("state: want a plain libvirt error, got %v", err)
	}
}

// A call libvirtd never answers returns when the context ends, and the
// connection refuses later calls instead of hanging on them.
func TestHungCallIsAbandoned(t *testing.T) {
	d := newFakeDaemon(t, map[uint32]reply{procDomainGetState: {hang: true}})
	ctx, c := d.dial()
	dom, _ := DomainRef("vm", "dc229f87-d4de-4719-8cfd-2e21c6105b01")
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	start := time.Now()
	_, err := c.DomainState(short, dom)
	if !IsTimeout(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want timeout, got %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("abandoning took %v", took)
	}
	start = time.Now()
	if _, err := c.DomainState(ctx, dom); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("after abandon: %v", err)
	}
	c.Close()
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Fatalf("Close of a broken connection took %v", took)
	}
}

func TestParseShutdownMode(t *testing.T) {
	m, err := ParseShutdownMode("acpi,agent")
	if err != nil || m != ShutdownACPI|ShutdownAgent {
		t.Fatalf("%v %v", m, err)
	}
	if m, err := ParseShutdownMode(""); err != nil || m != ShutdownDefault {
		t.Fatalf("%v %v", m, err)
	}
	if _, err := ParseShutdownMode("acpi,reboot"); err == nil {
		t.Fatal("unknown mode accepted")
	}
}

func TestParseUUID(t *testing.T) {
	for _, s := range []string{"dc229f87-d4de-4719-8cfd-2e21c6105b01", "dc229f87d4de47198cfd2e21c6105b01"} {
		u, err := ParseUUID(s)
		if err != nil || formatUUID(u) != "dc229f87-d4de-4719-8cfd-2e21c6105b01" {
			t.Errorf("%s: %v %v", s, formatUUID(u), err)
		}
	}
	for _, s := range []string{"", "vm1", "zz229f87-d4de-4719-8cfd-2e21c6105b01", "dc229f87"} {
		if _, err := ParseUUID(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
