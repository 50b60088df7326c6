package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/kvmha/kvmha/internal/deadline"
)

// Backend is one place every host writes its record and reads its
// messages. Every method honours ctx: a backend whose calls can block
// without a context (file and block I/O) is wrapped by Guard.
type Backend interface {
	// URI names the backend, in its canonical form.
	URI() string
	// Register makes sure node has its place (a block slot, an index
	// entry), so that fencers can find it.
	Register(ctx context.Context, node string) error
	WriteRecord(ctx context.Context, node string, frame []byte) error
	// ReadRecord returns node's record frame; ErrNotFound when node never
	// wrote one here.
	ReadRecord(ctx context.Context, node string) ([]byte, error)
	WriteMessage(ctx context.Context, node string, frame []byte) error
	// ReadMessage returns node's message frame; ErrNotFound when none.
	ReadMessage(ctx context.Context, node string) ([]byte, error)
	// Hosts lists the nodes registered here.
	Hosts(ctx context.Context) ([]string, error)
	Close() error
}

// ErrNotFound: no record, message or slot for that node on the backend.
var ErrNotFound = errors.New("not found")

// ErrBusy: the backend still has abandoned calls running (a hung
// filesystem or device); no new call is started until they end.
var ErrBusy = errors.New("backend busy: earlier calls have not returned")

// Quorum is how many of n backends a host must write to stay healthy: one
// of one or two (with two, either may fail without resetting every host, as
// sbd does with two devices), a strict majority of three or more.
func Quorum(n int) int {
	if n <= 2 {
		return min(n, 1)
	}
	return n/2 + 1
}

// StaleNeeded is on how many of a host's n backends a reader must see its
// record stale before no quorum is left for the host to be alive on.
func StaleNeeded(n int) int { return n - Quorum(n) + 1 }

// maxInFlight bounds the abandoned calls a guarded backend may have.
const maxInFlight = 4

// Guard makes every call of b return when its context ends, even when the
// underlying system call blocks (NFS in D state, a dead SAN path): the call
// goes on in its goroutine and its result is dropped. While maxInFlight
// calls are still running, new calls fail with ErrBusy at once, so a hung
// backend costs a bounded number of goroutines.
func Guard(b Backend) Backend { return &guarded{b: b} }

type guarded struct {
	b        Backend
	inFlight atomic.Int32
}

func guardedCall[T any](ctx context.Context, g *guarded, fn func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if g.inFlight.Add(1) > maxInFlight {
		g.inFlight.Add(-1)
		return zero, ErrBusy
	}
	v, done, err := deadline.Call(ctx, func() (v T, err error) {
		defer g.inFlight.Add(-1)
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("internal error: %v", r)
			}
		}()
		return fn()
	})
	if !done {
		return zero, fmt.Errorf("no answer in time: %w", err)
	}
	return v, err
}

func (g *guarded) run(ctx context.Context, fn func() error) error {
	_, err := guardedCall(ctx, g, func() (struct{}, error) { return struct{}{}, fn() })
	return err
}

func (g *guarded) URI() string { return g.b.URI() }
func (g *guarded) Register(ctx context.Context, node string) error {
	return g.run(ctx, func() error { return g.b.Register(ctx, node) })
}
func (g *guarded) WriteRecord(ctx context.Context, node string, frame []byte) error {
	return g.run(ctx, func() error { return g.b.WriteRecord(ctx, node, frame) })
}
func (g *guarded) ReadRecord(ctx context.Context, node string) ([]byte, error) {
	return guardedCall(ctx, g, func() ([]byte, error) { return g.b.ReadRecord(ctx, node) })
}
func (g *guarded) WriteMessage(ctx context.Context, node string, frame []byte) error {
	return g.run(ctx, func() error { return g.b.WriteMessage(ctx, node, frame) })
}
func (g *guarded) ReadMessage(ctx context.Context, node string) ([]byte, error) {
	return guardedCall(ctx, g, func() ([]byte, error) { return g.b.ReadMessage(ctx, node) })
}
func (g *guarded) Hosts(ctx context.Context) ([]string, error) {
	return guardedCall(ctx, g, func() ([]string, error) { return g.b.Hosts(ctx) })
}

// Close closes the backend unless calls are still running in it (closing
// a file descriptor under a blocked read helps nobody).
func (g *guarded) Close() error {
	if g.inFlight.Load() > 0 {
		return nil
	}
	return g.b.Close()
}

// ReadRecordOf reads and decodes node's record from b.
func ReadRecordOf(ctx context.Context, b Backend, node string) (*Record, error) {
	data, err := b.ReadRecord(ctx, node)
	if err != nil {
		return nil, err
	}
	r, err := DecodeRecord(data)
	if errors.Is(err, ErrEmpty) {
		return nil, ErrNotFound
	}
	if err == nil && r.Node != node {
		err = badFrame("record of %q in the slot of %q", r.Node, node)
	}
	if err != nil {
		// Say "corrupt" in words: a reader that only reports a failed read leaves the
		// operator guessing between a missing record and a damaged one.
		return nil, fmt.Errorf("corrupt record of %s: %w", node, err)
	}
	return r, nil
}

// ReadMessageOf reads and decodes node's message from b; nil, nil when
// there is none.
func ReadMessageOf(ctx context.Context, b Backend, node string) (*Message, error) {
	data, err := b.ReadMessage(ctx, node)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := DecodeMessage(data)
	if errors.Is(err, ErrEmpty) {
		return nil, nil
	}
	return m, err
}
