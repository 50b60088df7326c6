package ceph

import (
	"context"
	"fmt"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"
)

// ListImages lists the RBD images of a pool (or one of its namespaces). It
// reads the pool's image directory, so it also proves that the user may
// read the pool: a missing pool or namespace gives an error IsNotFound
// recognises, missing caps EPERM or EACCES.
func (c *Conn) ListImages(ctx context.Context, pool, namespace string) ([]string, error) {
	names, err := withIOContext(ctx, c, pool, "", func(io *rados.IOContext) ([]string, error) {
		if namespace != "" {
			// Listing a namespace that does not exist gives no error.
			ok, err := rbd.NamespaceExists(io, namespace)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("namespace %s/%s: %w", pool, namespace, rados.ErrNotFound)
			}
			io.SetNamespace(namespace)
		}
		return rbd.GetImageNames(io)
	})
	return names, explain(err)
}
