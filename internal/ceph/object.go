package ceph

import (
	"context"
	"sort"

	"github.com/ceph/go-ceph/rados"
)

// Small RADOS objects: whole-object writes and reads and an object's omap
// keys, each one abandonable call (see Conn). Missing objects give errors
// that IsNotFound recognises.

// WriteObject replaces the content of object oid with data (write_full:
// readers see the old or the new content, never a mix).
func (c *Conn) WriteObject(ctx context.Context, pool, namespace, oid string, data []byte) error {
	_, err := withIOContext(ctx, c, pool, namespace, func(io *rados.IOContext) (struct{}, error) {
		return struct{}{}, io.WriteFull(oid, data)
	})
	return explain(err)
}

// ReadObject returns up to max bytes of object oid.
func (c *Conn) ReadObject(ctx context.Context, pool, namespace, oid string, max int) ([]byte, error) {
	data, err := withIOContext(ctx, c, pool, namespace, func(io *rados.IOContext) ([]byte, error) {
		buf := make([]byte, max)
		n, err := io.Read(oid, buf, 0)
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	})
	return data, explain(err)
}

// SetOmapKeys sets keys in the omap of object oid, creating the object.
func (c *Conn) SetOmapKeys(ctx context.Context, pool, namespace, oid string, kv map[string][]byte) error {
	_, err := withIOContext(ctx, c, pool, namespace, func(io *rados.IOContext) (struct{}, error) {
		return struct{}{}, io.SetOmap(oid, kv)
	})
	return explain(err)
}

// OmapKeys lists the omap keys of object oid, sorted.
func (c *Conn) OmapKeys(ctx context.Context, pool, namespace, oid string) ([]string, error) {
	keys, err := withIOContext(ctx, c, pool, namespace, func(io *rados.IOContext) ([]string, error) {
		kv, err := io.GetAllOmapValues(oid, "", "", 256)
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(kv))
		for k := range kv {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys, nil
	})
	return keys, explain(err)
}
