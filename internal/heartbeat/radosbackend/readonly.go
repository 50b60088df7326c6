package radosbackend

import (
	"context"
	"errors"

	"github.com/kvmha/kvmha/internal/heartbeat"
)

// Objects is what a reader needs of a librados session: *ceph.Conn has it.
type Objects interface {
	ReadObject(ctx context.Context, pool, namespace, oid string, max int) ([]byte, error)
	OmapKeys(ctx context.Context, pool, namespace, oid string) ([]string, error)
}

// errReadOnly: a reader's backend never writes.
var errReadOnly = errors.New("this rados:// backend is opened read-only")

// ReadOnly is a rados:// backend that reads records and lists hosts through
// a session its caller owns, so that a program that already talks to the
// cluster (fence_rbd) needs no second session. session is called for every
// operation and may wait for a connection still being made; it must honour
// ctx. Writes and registration fail.
func ReadOnly(spec heartbeat.Spec, session func(context.Context) (Objects, error)) heartbeat.Backend {
	return &reader{spec: spec, session: session}
}

type reader struct {
	spec    heartbeat.Spec
	session func(context.Context) (Objects, error)
}

func (r *reader) URI() string { return r.spec.String() }

func (r *reader) read(ctx context.Context, oid string, max int) ([]byte, error) {
	s, err := r.session(ctx)
	if err != nil {
		return nil, err
	}
	return readObject(ctx, s, r.spec, oid, max)
}

func (r *reader) ReadRecord(ctx context.Context, node string) ([]byte, error) {
	return r.read(ctx, recordPrefix+node, heartbeat.RecordSize)
}

func (r *reader) ReadMessage(ctx context.Context, node string) ([]byte, error) {
	return r.read(ctx, messagePrefix+node, heartbeat.MessageSize)
}

func (r *reader) Hosts(ctx context.Context) ([]string, error) {
	s, err := r.session(ctx)
	if err != nil {
		return nil, err
	}
	return listHosts(ctx, s, r.spec)
}

func (r *reader) Register(context.Context, string) error { return errReadOnly }
func (r *reader) WriteRecord(context.Context, string, []byte) error {
	return errReadOnly
}
func (r *reader) WriteMessage(context.Context, string, []byte) error {
	return errReadOnly
}

// Close leaves the session to its owner.
func (r *reader) Close() error { return nil }
