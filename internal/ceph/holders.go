package ceph

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"
)

// HolderKind says how a client holds an image.
type HolderKind int

// Kinds of holders.
const (
	// Watcher: the client has the image open (every librbd or krbd user
	// watches the image header).
	Watcher HolderKind = iota + 1
	// Locker: the client owns a lock on the image: the exclusive lock of
	// a writer, or an advisory lock taken with "rbd lock add".
	Locker
)

func (k HolderKind) String() string {
	switch k {
	case Watcher:
		return "watcher"
	case Locker:
		return "locker"
	}
	return "holder(" + strconv.Itoa(int(k)) + ")"
}

// Holder is one client that holds an image open or locked.
type Holder struct {
	Kind   HolderKind
	Entity string // "client.4129"
	Addr   EntityAddr
	// Cookie is the watch cookie or the lock cookie ("auto 1403…" for
	// librbd's exclusive lock).
	Cookie                 string
	Pool, Namespace, Image string
}

// ImageSpec is pool[/namespace]/image, as rbd prints it.
func (h Holder) ImageSpec() string {
	return ImageSpec(h.Pool, h.Namespace, h.Image)
}

func (h Holder) String() string {
	return fmt.Sprintf("%s at %s (%s of %s)", h.Entity, h.Addr, h.Kind, h.ImageSpec())
}

// ImageSpec joins pool, namespace and image the way rbd does.
func ImageSpec(pool, namespace, image string) string {
	if namespace == "" {
		return pool + "/" + image
	}
	return pool + "/" + namespace + "/" + image
}

// Holders lists the clients that watch or lock one image, this session
// excluded (opening the image to look does not count as holding it).
func (c *Conn) Holders(ctx context.Context, pool, namespace, image string) ([]Holder, error) {
	self, err := c.Addrs(ctx)
	if err != nil {
		return nil, err
	}
	hs, err := withIOContext(ctx, c, pool, namespace, func(io *rados.IOContext) ([]Holder, error) {
		return imageHolders(io, pool, namespace, image)
	})
	if err != nil {
		return nil, explain(err)
	}
	return excludeAddrs(hs, self), nil
}

// LiveHolders is Holders without the clients the blocklist already fences:
// who could still write to the image.
func (c *Conn) LiveHolders(ctx context.Context, pool, namespace, image string) ([]Holder, error) {
	hs, err := c.Holders(ctx, pool, namespace, image)
	if err != nil || len(hs) == 0 {
		return hs, err
	}
	bl, err := c.Blocklist(ctx)
	if err != nil {
		return nil, err
	}
	live := hs[:0]
	for _, h := range hs {
		if !bl.IsBlocklisted(h.Addr) {
			live = append(live, h)
		}
	}
	return live, nil
}

// scanWorkers is how many images PoolHolders opens at once.
const scanWorkers = 8

// PoolHolders lists the holders of every image in a pool (or one of its
// namespaces), this session excluded. Images removed while the scan runs
// are skipped.
func (c *Conn) PoolHolders(ctx context.Context, pool, namespace string) ([]Holder, error) {
	self, err := c.Addrs(ctx)
	if err != nil {
		return nil, err
	}
	names, err := withIOContext(ctx, c, pool, namespace, rbd.GetImageNames)
	if err != nil {
		return nil, explain(err)
	}
	var (
		mu    sync.Mutex
		all   []Holder
		first error
		wg    sync.WaitGroup
		work  = make(chan string)
	)
	for i := 0; i < min(scanWorkers, len(names)); i++ {
		wg.Go(func() {
			for name := range work {
				hs, err := withIOContext(ctx, c, pool, namespace, func(io *rados.IOContext) ([]Holder, error) {
					return imageHolders(io, pool, namespace, name)
				})
				mu.Lock()
				switch {
				case err == nil:
					all = append(all, hs...)
				case IsNotFound(err):
				case first == nil:
					first = err
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, n := range names {
		select {
		case work <- n:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	if first != nil {
		return nil, explain(first)
	}
	return excludeAddrs(all, self), nil
}

// withIOContext runs fn with an I/O context of pool and namespace, in one
// abandonable call.
func withIOContext[T any](ctx context.Context, c *Conn, pool, namespace string, fn func(*rados.IOContext) (T, error)) (T, error) {
	return call(ctx, c, "ceph: pool "+pool, func() (T, error) {
		io, err := c.rados.OpenIOContext(pool)
		if err != nil {
			var zero T
			return zero, err
		}
		defer io.Destroy()
		io.SetNamespace(namespace)
		return fn(io)
	})
}

// imageHolders opens an image read-only and lists its watchers and lockers.
func imageHolders(io *rados.IOContext, pool, namespace, name string) ([]Holder, error) {
	img, err := rbd.OpenImageReadOnly(io, name, rbd.NoSnapshot)
	if err != nil {
		return nil, fmt.Errorf("open image %s: %w", ImageSpec(pool, namespace, name), err)
	}
	defer img.Close()
	base := Holder{Pool: pool, Namespace: namespace, Image: name}
	watchers, err := img.ListWatchers()
	if err != nil {
		return nil, fmt.Errorf("watchers of %s: %w", base.ImageSpec(), err)
	}
	var hs []Holder
	for _, w := range watchers {
		addr, err := ParseEntityAddr(w.Addr)
		if err != nil {
			return nil, fmt.Errorf("watcher of %s: %w", base.ImageSpec(), err)
		}
		h := base
		h.Kind, h.Entity, h.Addr, h.Cookie = Watcher, "client."+strconv.FormatInt(w.Id, 10), addr, strconv.FormatUint(w.Cookie, 10)
		hs = append(hs, h)
	}
	_, lockers, err := img.ListLockers()
	if err != nil {
		return nil, fmt.Errorf("lockers of %s: %w", base.ImageSpec(), err)
	}
	for _, l := range lockers {
		addr, err := ParseEntityAddr(trimNUL(l.Addr))
		if err != nil {
			return nil, fmt.Errorf("locker of %s: %w", base.ImageSpec(), err)
		}
		h := base
		h.Kind, h.Entity, h.Addr, h.Cookie = Locker, trimNUL(l.Client), addr, trimNUL(l.Cookie)
		hs = append(hs, h)
	}
	return hs, nil
}

// trimNUL drops the C string terminators go-ceph leaves in some strings
// (ListLockers' tag, for one).
func trimNUL(s string) string { return strings.TrimRight(s, "\x00") }

func excludeAddrs(hs []Holder, self []EntityAddr) []Holder {
	out := hs[:0]
next:
	for _, h := range hs {
		for _, a := range self {
			if a.Equal(h.Addr) {
				continue next
			}
		}
		out = append(out, h)
	}
	return out
}
