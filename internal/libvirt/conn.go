package libvirt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"

	"github.com/kvmha/kvmha/internal/deadline"
)

// closeWait bounds the polite ConnectClose call in Close.
const closeWait = time.Second

// Conn is one connection to a libvirtd. Methods may be called concurrently
// (go-libvirt multiplexes calls on the socket); once a call is abandoned on
// its context, the connection is closed and every later call fails with
// ErrUnreachable.
type Conn struct {
	uri string
	rpc *golibvirt.Libvirt

	mu     sync.Mutex
	socket net.Conn // the dialled socket, closed to abandon calls
	broken error    // set once the connection is unusable
}

// Dial connects to the libvirtd named by uri and opens its driver, all
// within ctx.
func Dial(ctx context.Context, uri string) (*Conn, error) {
	return DialWith(ctx, uri, DialOptions{})
}

// DialWith is Dial with what the URI does not say (see DialOptions).
func DialWith(ctx context.Context, uri string, opts DialOptions) (*Conn, error) {
	ep, err := parseURI(uri)
	if err != nil {
		return nil, &Error{Op: "connect " + boundedText(uri), Err: err}
	}
	c := &Conn{uri: uri}
	d := &boundDialer{ctx: ctx, ep: ep, opts: opts, conn: c}
	c.rpc = golibvirt.NewWithDialer(d)
	if err := c.do(ctx, "connect "+boundedText(uri), func() error {
		return c.rpc.ConnectToURI(golibvirt.ConnectURI(ep.name))
	}); err != nil {
		c.closeSocket(err)
		if why := d.remoteFailure(); why != "" {
			var e *Error
			if errors.As(err, &e) {
				e.Err = fmt.Errorf("%w (the remote command said: %s)", e.Err, why)
			}
		}
		return nil, err
	}
	return c, nil
}

// URI is the URI the connection was made with.
func (c *Conn) URI() string { return c.uri }

// Close ends the connection: a ConnectClose call when libvirtd is answering
// (bounded by a second), then the socket is closed regardless.
func (c *Conn) Close() error {
	if c.usable() == nil {
		ctx, cancel := context.WithTimeout(context.Background(), closeWait)
		_ = c.do(ctx, "close", func() error { return c.rpc.ConnectClose() })
		cancel()
	}
	c.closeSocket(errClosed)
	return nil
}

var errClosed = errors.New("connection closed")

// usable returns why the connection cannot take calls, or nil.
func (c *Conn) usable() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broken
}

// closeSocket marks the connection unusable and closes the socket, which
// makes go-libvirt fail every pending call instead of waiting forever.
func (c *Conn) closeSocket(why error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken == nil {
		c.broken = why
	}
	if c.socket != nil {
		c.socket.Close()
		c.socket = nil
	}
}

// adopt records the dialled socket, or closes it at once when the
// connection was abandoned while the dial was under way.
func (c *Conn) adopt(s net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		s.Close()
		return false
	}
	c.socket = s
	return true
}

// do runs one call bounded by ctx.
func (c *Conn) do(ctx context.Context, op string, fn func() error) error {
	_, err := call(ctx, c, op, func() (struct{}, error) { return struct{}{}, fn() })
	return err
}

// call runs fn (one or more go-libvirt calls) in a goroutine and waits for
// it or for ctx, whichever comes first. go-libvirt calls take no context;
// abandoning one means closing the socket so that its goroutine ends too.
func call[T any](ctx context.Context, c *Conn, op string, fn func() (T, error)) (T, error) {
	var zero T
	if why := c.usable(); why != nil {
		return zero, &Error{Op: op, Kind: ErrUnreachable, Err: why}
	}
	if err := ctx.Err(); err != nil {
		return zero, abandoned(op, err)
	}
	v, done, err := deadline.Call(ctx, fn)
	switch {
	case !done:
		err := abandoned(op, err)
		c.closeSocket(err)
		return zero, err
	case err != nil:
		return zero, classify(op, err)
	}
	return v, nil
}

// boundDialer opens the socket within the context given to Dial, and
// within the options' ConnectTimeout.
type boundDialer struct {
	ctx  context.Context
	ep   endpoint
	opts DialOptions
	conn *Conn

	mu     sync.Mutex
	socket net.Conn // the last socket dialled
}

// remoteFailure is what the remote command of an ssh stream said when it
// failed (see execConn), "" otherwise.
func (d *boundDialer) remoteFailure() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if x, ok := d.socket.(*execConn); ok {
		return x.failure()
	}
	return ""
}

func (d *boundDialer) Dial() (net.Conn, error) {
	ctx, cancel := d.opts.connectContext(d.ctx)
	defer cancel()
	var s net.Conn
	var err error
	switch {
	case d.ep.tls:
		s, err = d.dialTLS(ctx)
	case d.ep.ssh != "":
		s, err = d.dialSSH(ctx)
	case d.ep.network == "tcp":
		var nd net.Dialer
		s, err = nd.DialContext(ctx, d.opts.network(), d.ep.address)
	default:
		var nd net.Dialer
		s, err = nd.DialContext(ctx, d.ep.network, d.ep.address)
	}
	if err != nil {
		if d.ctx.Err() == nil && ctx.Err() != nil {
			return nil, fmt.Errorf("connection not established within %s: %w", d.opts.ConnectTimeout, err)
		}
		return nil, err
	}
	d.mu.Lock()
	d.socket = s
	d.mu.Unlock()
	if !d.conn.adopt(s) {
		return nil, errClosed
	}
	return s, nil
}

// dialTLS reuses go-libvirt's TLS dialer, which finds the client
// certificates where libvirt keeps them. It has its own 20 s connect
// timeout; the context bounds the whole exchange including the handshake.
func (d *boundDialer) dialTLS(ctx context.Context) (net.Conn, error) {
	if err := d.ep.checkTLSFiles(ctx); err != nil {
		return nil, err
	}
	opts := []dialers.TLSOption{dialers.UseTLSPort(d.ep.port)}
	if d.ep.pkiPath != "" {
		opts = append(opts, dialers.UsePKIPath(d.ep.pkiPath))
	}
	if d.ep.noVerify {
		opts = append(opts, dialers.WithInsecureNoVerify())
	}
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		s, err := dialers.NewTLS(d.ep.host, opts...).Dial()
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		return r.conn, r.err
	case <-ctx.Done():
		go func() { // close a socket that arrives too late
			if r := <-done; r.conn != nil {
				r.conn.Close()
			}
		}()
		return nil, ctx.Err()
	}
}
