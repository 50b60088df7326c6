package ceph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ceph/go-ceph/rados"

	"github.com/kvmha/kvmha/internal/deadline"
)

// Config says how to reach a cluster and as whom. The cephx key is only
// ever read by librados from the Keyring file: it never passes through this
// package.
type Config struct {
	// ConfPath is a ceph.conf to read; "" reads none (then MonHosts is
	// needed). A missing file is an error.
	ConfPath string
	// User is the cephx id without "client." ("admin" when empty).
	User string
	// Keyring is the keyring file holding User's key; "" leaves librados'
	// default search (and ConfPath's keyring setting) in place.
	Keyring string
	// MonHosts overrides mon_host: monitor addresses or DNS names, each
	// optionally with a port, or Ceph address vectors. Names are resolved
	// within the context and every address of every name is given to
	// librados, which tries them all.
	MonHosts []string
	// Resolver resolves names in mon_host; nil uses the system resolver.
	Resolver Resolver
	// SkipMonProbe leaves out the TCP probe of the monitor addresses that
	// Connect runs before librados connects (see ProbeMonitors): librados
	// alone then decides, and reports unreachable monitors as a timeout.
	SkipMonProbe bool
	// ProbePatience is how long the probe keeps trying monitors that refuse
	// or stay silent, as a restarting monitor does: 0 means the default (up to
	// 10 s, never more than half the time the context leaves); a negative
	// value fails at the first round. A query that is asked again soon (a
	// fence device's status) wants an answer now; fencing itself waits.
	ProbePatience time.Duration
}

// Conn is a librados session. Every method takes a context: librados calls
// cannot be interrupted, so each runs in its own goroutine and is abandoned
// (left to finish on its own, its result dropped) when the context ends.
// The session's timeouts are also set from the context's deadline at
// Connect, so an abandoned call ends by itself soon after.
type Conn struct {
	rados *rados.Conn
	// abandoned is set once a call was left running; Close then leaves the
	// session alone, because shutting librados down under a running call
	// would crash the process.
	abandoned atomic.Bool
	closeOnce sync.Once
}

// Default librados timeouts when the context has no deadline.
const defaultOpTimeout = 30 * time.Second

// Connect opens a session within ctx.
func Connect(ctx context.Context, cfg Config) (*Conn, error) {
	return connect(ctx, cfg, "")
}

// connect is Connect and ConnectKeyFile: one way to open a session, with
// librados reading the key from keyFile when it is set.
func connect(ctx context.Context, cfg Config, keyFile string) (*Conn, error) {
	user := cfg.User
	if user == "" {
		user = "admin"
	}
	user = strings.TrimPrefix(user, "client.")
	r, err := rados.NewConnWithUser(user)
	if err != nil {
		return nil, fmt.Errorf("ceph: new session for client.%s: %w", user, err)
	}
	c := &Conn{rados: r}
	if err := c.configure(ctx, cfg); err != nil {
		c.Close()
		return nil, err
	}
	if keyFile != "" {
		if err := r.SetConfigOption("keyfile", keyFile); err != nil {
			c.Close()
			return nil, fmt.Errorf("ceph: setting keyfile: %w", err)
		}
	}
	if err := c.open(ctx, cfg, user); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// open connects the configured session: first the monitor probe (unless
// cfg skips it), which fails at once, naming every address and why, when
// no monitor accepts a connection; then librados.
func (c *Conn) open(ctx context.Context, cfg Config, user string) error {
	var probes []MonProbe
	if !cfg.SkipMonProbe {
		var err error
		if probes, err = c.probeMonHost(ctx, cfg.ProbePatience); err != nil {
			return err
		}
	}
	err := c.run(ctx, "ceph: connect as client."+user, c.rados.Connect)
	switch {
	case err == nil:
		return nil
	case (ctx.Err() != nil || Errno(err) == errnoTimedOut) && len(probes) > 0:
		return fmt.Errorf("%w (%s accepted a connection, but no session opened in time: the monitors out of quorum, or overloaded?)",
			err, accepting(probes))
	case IsNotFound(err) && len(probes) == 0 && c.monHostEmpty():
		return fmt.Errorf("%w: no monitor address: mon_host is not set%s and DNS has no SRV record for ceph-mon", err, inConf(cfg))
	}
	return explain(err)
}

// monHostEmpty reports whether the session has no mon_host (librados then
// looks for DNS SRV records, and says only ENOENT when there are none).
func (c *Conn) monHostEmpty() bool {
	v, err := c.rados.GetConfigOption("mon_host")
	return err == nil && strings.TrimSpace(v) == ""
}

func inConf(cfg Config) string {
	if cfg.ConfPath == "" {
		return ""
	}
	return " in " + cfg.ConfPath
}

// configure reads the configuration, resolves monitor names and derives the
// librados timeouts from the deadline.
func (c *Conn) configure(ctx context.Context, cfg Config) error {
	if cfg.ConfPath != "" {
		if err := c.rados.ReadConfigFile(cfg.ConfPath); err != nil {
			return fmt.Errorf("ceph: reading %s: %w", cfg.ConfPath, err)
		}
	}
	set := func(k, v string) error {
		if err := c.rados.SetConfigOption(k, v); err != nil {
			return fmt.Errorf("ceph: setting %s: %w", k, err)
		}
		return nil
	}
	if cfg.Keyring != "" {
		if err := set("keyring", cfg.Keyring); err != nil {
			return err
		}
	}
	if err := c.resolveMonHost(ctx, cfg); err != nil {
		return err
	}
	secs := strconv.Itoa(timeoutSeconds(ctx))
	for _, k := range []string{"client_mount_timeout", "rados_mon_op_timeout", "rados_osd_op_timeout"} {
		if err := set(k, secs); err != nil {
			return err
		}
	}
	return nil
}

// resolveMonHost replaces the names in mon_host (Config.MonHosts, else the
// configuration file's) by all their addresses. A configuration file's
// value this package cannot read is left to librados.
func (c *Conn) resolveMonHost(ctx context.Context, cfg Config) error {
	monHost, given := strings.Join(cfg.MonHosts, ","), len(cfg.MonHosts) > 0
	if !given {
		monHost, _ = c.rados.GetConfigOption("mon_host")
		if monHost == "" || CheckMonHost(monHost) != nil {
			return nil
		}
	}
	resolved, err := ResolveMonHost(ctx, cfg.Resolver, monHost)
	if err != nil {
		return fmt.Errorf("ceph: mon_host: %w", err)
	}
	if err := c.rados.SetConfigOption("mon_host", resolved); err != nil {
		return fmt.Errorf("ceph: setting mon_host: %w", err)
	}
	return nil
}

// timeoutSeconds turns the time left before ctx's deadline into whole
// seconds for librados (rounded up, at least 1: 0 means "no timeout").
func timeoutSeconds(ctx context.Context) int {
	left := defaultOpTimeout
	if d, ok := ctx.Deadline(); ok {
		left = time.Until(d)
	}
	return secondsCeil(left)
}

func secondsCeil(d time.Duration) int {
	if d <= time.Second {
		return 1
	}
	s := math.Ceil(d.Seconds())
	if s > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(s)
}

// Close ends the session unless a call was abandoned (see Conn).
func (c *Conn) Close() {
	c.closeOnce.Do(func() {
		if c.abandoned.Load() {
			return
		}
		c.rados.Shutdown()
	})
}

// call runs fn in its own goroutine and waits for its result or for ctx.
// When ctx ends first the call is abandoned: its result, whenever it comes,
// goes nowhere. A panic in the binding becomes an error.
func call[T any](ctx context.Context, c *Conn, what string, fn func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	v, done, err := deadline.Call(ctx, func() (v T, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("internal error in the librados binding: %v", r)
			}
		}()
		return fn()
	})
	switch {
	case !done:
		c.abandoned.Store(true)
		return zero, fmt.Errorf("%s: no answer in time: %w", what, err)
	case err != nil:
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// run is call for funcs without a result.
func (c *Conn) run(ctx context.Context, what string, fn func() error) error {
	_, err := call(ctx, c, what, func() (struct{}, error) { return struct{}{}, fn() })
	return err
}

// monCommand sends one JSON mon command and returns its output buffer. A
// failure carries the monitor's status text.
func (c *Conn) monCommand(ctx context.Context, cmd any) ([]byte, error) {
	return c.monCommandInput(ctx, cmd, nil)
}

// monCommandInput is monCommand with an input buffer (what "ceph -i" sends).
func (c *Conn) monCommandInput(ctx context.Context, cmd any, input []byte) ([]byte, error) {
	args, err := json.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	var prefix struct {
		Prefix string `json:"prefix"`
	}
	_ = json.Unmarshal(args, &prefix)
	out, err := call(ctx, c, "ceph: "+prefix.Prefix, func() ([]byte, error) {
		out, status, err := c.rados.MonCommandWithInputBuffer(args, input)
		if err != nil && status != "" {
			return nil, fmt.Errorf("%w (%s)", err, strings.TrimSpace(status))
		}
		return out, err
	})
	return out, explain(err)
}

// Errno values librados returns that deserve a clearer message.
const (
	errnoPerm     = 1
	errnoNotFound = 2
	errnoAccess   = 13
	errnoInvalid  = 22
	errnoShutdown = 108 // ESHUTDOWN: this client is blocklisted
	errnoTimedOut = 110
)

// Errno returns the (positive) errno carried by a librados error, or 0.
func Errno(err error) int {
	var ce interface{ ErrorCode() int }
	if errors.As(err, &ce) {
		n := ce.ErrorCode()
		if n < 0 {
			n = -n
		}
		return n
	}
	return 0
}

// IsNotFound reports whether err is librados' ENOENT.
func IsNotFound(err error) bool { return Errno(err) == errnoNotFound }

// explain adds a hint to errors whose errno alone confuses operators.
func explain(err error) error {
	switch Errno(err) {
	case errnoAccess, errnoPerm:
		return fmt.Errorf("%w: check the cephx user's caps and keyring", err)
	case errnoTimedOut:
		return fmt.Errorf("%w: the monitors or OSDs did not answer in time", err)
	case errnoShutdown:
		return fmt.Errorf("%w: this client is blocklisted", err)
	}
	return err
}

// Addrs returns the addresses of this session as the cluster sees them (a
// client's own watches carry them).
func (c *Conn) Addrs(ctx context.Context) ([]EntityAddr, error) {
	s, err := call(ctx, c, "ceph: own addresses", c.rados.GetAddrs)
	if err != nil {
		return nil, err
	}
	return ParseEntityAddrs(s)
}

// WaitForLatestOSDMap returns once this session has the newest OSD map the
// monitors know. After a blocklist change it orders every later operation
// of this session after the change: an OSD that receives one first catches
// up to that map, and with it the blocklist.
func (c *Conn) WaitForLatestOSDMap(ctx context.Context) error {
	return explain(c.run(ctx, "ceph: wait for the latest osdmap", c.rados.WaitForLatestOSDMap))
}

// FSID returns the cluster's fsid, a cheap "does the session work" check.
func (c *Conn) FSID(ctx context.Context) (string, error) {
	return call(ctx, c, "ceph: fsid", c.rados.GetFSID)
}
