package libvirt

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Procedure numbers of libvirt's remote protocol used by the tests.
const (
	procConnectOpen        = 1
	procConnectClose       = 2
	procDomainDestroy      = 12
	procDomainLookupByName = 23
	procAuthList           = 66
	procDomainGetState     = 212
	remoteProgram          = 0x20008086
)

// reply is what the fake daemon answers to one call.
type reply struct {
	payload []byte
	errCode uint32 // non-zero: answer with a libvirt error of this code
	hang    bool   // never answer (a SIGSTOPped libvirtd)
}

// fakeDaemon speaks just enough of libvirt's RPC framing to answer the
// calls a test cares about: the connect handshake is always accepted,
// everything else is looked up in answers by procedure number.
type fakeDaemon struct {
	t       *testing.T
	socket  string
	mu      sync.Mutex
	answers map[uint32]reply
	calls   []uint32
}

func newFakeDaemon(t *testing.T, answers map[uint32]reply) *fakeDaemon {
	t.Helper()
	d := &fakeDaemon{t: t, socket: filepath.Join(t.TempDir(), "sock"), answers: answers}
	listenAndServe(t, "unix", d.socket, d.serve)
	return d
}

func (d *fakeDaemon) uri() string { return "qemu:///system?socket=" + d.socket }

// dial connects to d, failing the test when that cannot be done. ctx bounds
// the test's calls (5 s); it and the connection end with the test.
func (d *fakeDaemon) dial() (context.Context, *Conn) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	d.t.Cleanup(cancel)
	c, err := Dial(ctx, d.uri())
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { c.Close() })
	return ctx, c
}

// listenAndServe listens on address until the test ends and hands each
// connection to handle, in a goroutine of its own: the tests' fake servers.
func listenAndServe(t *testing.T, network, address string, handle func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln
}

// silentListener accepts connections on address and never answers them,
// as a libvirtd or an sshd stopped with SIGSTOP does: it reads until the
// client gives up.
func silentListener(t *testing.T, network, address string) net.Listener {
	t.Helper()
	return listenAndServe(t, network, address, func(c net.Conn) {
		defer c.Close()
		io.Copy(io.Discard, c)
	})
}

func (d *fakeDaemon) called(proc uint32) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.calls {
		if p == proc {
			return true
		}
	}
	return false
}

func (d *fakeDaemon) serve(c net.Conn) {
	defer c.Close()
	for {
		head := make([]byte, 28)
		if _, err := io.ReadFull(c, head); err != nil {
			return
		}
		size := binary.BigEndian.Uint32(head[0:4])
		body := make([]byte, int(size)-28)
		if _, err := io.ReadFull(c, body); err != nil {
			return
		}
		proc := binary.BigEndian.Uint32(head[12:16])
		serial := binary.BigEndian.Uint32(head[20:24])
		d.mu.Lock()
		d.calls = append(d.calls, proc)
		r, ok := d.answers[proc]
		d.mu.Unlock()
		switch {
		case proc == procAuthList && !ok:
			r = reply{payload: xdrUint32(0)} // no authentication needed
		case proc == procConnectOpen && !ok, proc == procConnectClose && !ok:
			r = reply{}
		case !ok:
			r = reply{errCode: 1, payload: nil} // VIR_ERR_INTERNAL_ERROR
		}
		if r.hang {
			continue
		}
		status := uint32(0)
		payload := r.payload
		if r.errCode != 0 {
			status = 1
			payload = xdrError(r.errCode, "fake error")
		}
		out := make([]byte, 28, 28+len(payload))
		binary.BigEndian.PutUint32(out[0:4], uint32(28+len(payload)))
		binary.BigEndian.PutUint32(out[4:8], remoteProgram)
		binary.BigEndian.PutUint32(out[8:12], 1)
		binary.BigEndian.PutUint32(out[12:16], proc)
		binary.BigEndian.PutUint32(out[16:20], 1) // reply
		binary.BigEndian.PutUint32(out[20:24], serial)
		binary.BigEndian.PutUint32(out[24:28], status)
		if _, err := c.Write(append(out, payload...)); err != nil {
			return
		}
	}
}

func xdrUint32(v uint32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, v)
	return b
}

func xdrString(s string) []byte {
	b := xdrUint32(uint32(len(s)))
	b = append(b, s...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// xdrError encodes remote_error: code, domain, optional message, level.
func xdrError(code uint32, msg string) []byte {
	b := append(xdrUint32(code), xdrUint32(10)...)
	b = append(b, xdrUint32(1)...) // message present
	b = append(b, xdrString(msg)...)
	return append(b, xdrUint32(2)...)
}

// xdrDomain encodes remote_nonnull_domain.
func xdrDomain(name string, uuid [16]byte, id int32) []byte {
	b := xdrString(name)
	b = append(b, uuid[:]...)
	return append(b, xdrUint32(uint32(id))...)
}
