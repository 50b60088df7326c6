package ceph

import (
	"context"
	"errors"
	"fmt"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"
)

// ImageInfo is what a client needs to know before mapping an image.
type ImageInfo struct {
	ID       string
	Features uint64 // RBD_FEATURE_* bits
	// Size is the image's size in bytes, or the snapshot's when one was
	// asked for.
	Size uint64
}

// ErrSnapshotNotFound is returned by ImageInfo when the image exists but
// the snapshot does not. It also satisfies IsNotFound.
var ErrSnapshotNotFound = errors.New("no such snapshot")

// ImageInfo opens an image read-only (snap "" is the image itself) and
// reads its id, features and size. A missing image gives an error that
// IsNotFound recognises; a missing snapshot one that is also
// ErrSnapshotNotFound.
func (c *Conn) ImageInfo(ctx context.Context, pool, namespace, image, snap string) (ImageInfo, error) {
	spec := ImageSpec(pool, namespace, image)
	info, err := withIOContext(ctx, c, pool, namespace, func(io *rados.IOContext) (ImageInfo, error) {
		img, err := rbd.OpenImageReadOnly(io, image, rbd.NoSnapshot)
		if err != nil {
			return ImageInfo{}, fmt.Errorf("open image %s: %w", spec, err)
		}
		defer img.Close()
		var info ImageInfo
		if info.ID, err = img.GetId(); err != nil {
			return ImageInfo{}, fmt.Errorf("id of %s: %w", spec, err)
		}
		if info.Features, err = img.GetFeatures(); err != nil {
			return ImageInfo{}, fmt.Errorf("features of %s: %w", spec, err)
		}
		if snap != "" {
			if err := img.SetSnapshot(snap); err != nil {
				if IsNotFound(err) {
					return ImageInfo{}, fmt.Errorf("snapshot %s@%s: %w (%w)", spec, snap, ErrSnapshotNotFound, err)
				}
				return ImageInfo{}, fmt.Errorf("snapshot %s@%s: %w", spec, snap, err)
			}
		}
		if info.Size, err = img.GetSize(); err != nil {
			return ImageInfo{}, fmt.Errorf("size of %s: %w", spec, err)
		}
		return info, nil
	})
	return info, explain(err)
}

// BreakLock breaks a lock on an image that h (a Locker from Holders)
// owns: the exclusive lock of a client that the blocklist already fences,
// say. librbd also blocklists the owner's address on the way
// (rbd_blocklist_on_break_lock), which is a no-op for a fenced one. A lock
// that is already gone is no error.
func (c *Conn) BreakLock(ctx context.Context, h Holder) error {
	if h.Kind != Locker {
		return fmt.Errorf("ceph: %s holds no lock", h)
	}
	_, err := withIOContext(ctx, c, h.Pool, h.Namespace, func(io *rados.IOContext) (struct{}, error) {
		img, err := rbd.OpenImage(io, h.Image, rbd.NoSnapshot)
		if err != nil {
			return struct{}{}, fmt.Errorf("open image %s: %w", h.ImageSpec(), err)
		}
		defer img.Close()
		if err := img.BreakLock(h.Entity, h.Cookie); err != nil && !IsNotFound(err) {
			return struct{}{}, fmt.Errorf("break the lock of %s on %s: %w", h.Entity, h.ImageSpec(), err)
		}
		return struct{}{}, nil
	})
	return explain(err)
}
