package radosbackend

import (
	"context"
	"errors"
	"testing"

	"github.com/kvmha/kvmha/internal/heartbeat"
)

// objects is an in-memory session: objects and omap keys by oid.
type objects struct {
	data map[string][]byte
	keys map[string][]string
}

// enoent looks like librados' ENOENT to ceph.IsNotFound.
type enoent struct{}

func (enoent) Error() string  { return "rados: ret=-2, No such file or directory" }
func (enoent) ErrorCode() int { return -2 }

func (o objects) ReadObject(_ context.Context, pool, ns, oid string, max int) ([]byte, error) {
	d, ok := o.data[pool+"/"+ns+"/"+oid]
	if !ok {
		return nil, enoent{}
	}
	return d[:min(len(d), max)], nil
}

func (o objects) OmapKeys(_ context.Context, pool, ns, oid string) ([]string, error) {
	k, ok := o.keys[pool+"/"+ns+"/"+oid]
	if !ok {
		return nil, enoent{}
	}
	return k, nil
}

func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	spec, _ := heartbeat.ParseBackend("rados://rbd/hb")
	o := objects{data: map[string][]byte{"rbd/hb/kvmha.record.node1": []byte("frame")},
		keys: map[string][]string{}}
	b := ReadOnly(spec, func(context.Context) (Objects, error) { return o, nil })
	if b.URI() != "rados://rbd/hb" {
		t.Fatal(b.URI())
	}
	if d, err := b.ReadRecord(ctx, "node1"); err != nil || string(d) != "frame" {
		t.Fatal(d, err)
	}
	if _, err := b.ReadRecord(ctx, "node2"); !errors.Is(err, heartbeat.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := b.ReadMessage(ctx, "node1"); !errors.Is(err, heartbeat.ErrNotFound) {
		t.Fatal(err)
	}
	if hs, err := b.Hosts(ctx); err != nil || hs != nil {
		t.Fatal("hosts of a pool without a hosts object:", hs, err)
	}
	o.keys["rbd/hb/kvmha.hosts"] = []string{"node1", "bad name", "node2"}
	if hs, err := b.Hosts(ctx); err != nil || len(hs) != 2 || hs[1] != "node2" {
		t.Fatal(hs, err)
	}
	for _, err := range []error{b.Register(ctx, "n"), b.WriteRecord(ctx, "n", nil), b.WriteMessage(ctx, "n", nil)} {
		if !errors.Is(err, errReadOnly) {
			t.Fatal(err)
		}
	}
	failed := ReadOnly(spec, func(context.Context) (Objects, error) { return nil, errors.New("no session") })
	if _, err := failed.ReadRecord(ctx, "node1"); err == nil || failed.Close() != nil {
		t.Fatal("read without a session")
	}
	if _, err := failed.Hosts(ctx); err == nil {
		t.Fatal("hosts without a session")
	}
}
