package doctor

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

var errNotComputed = errors.New("not computed")

// lazy is a value several checks share (a Ceph session, the monitors'
// reachability, libvirtd's answer): computed once, by the first check that
// asks, in the run's context, so that a check with a short budget does not
// cut it short for the others. Each caller waits within its own context.
type lazy[T any] struct {
	once sync.Once
	done chan struct{}
	v    T
	err  error
}

func (l *lazy[T]) get(ctx, base context.Context, fn func(context.Context) (T, error)) (T, error) {
	if base == nil { // a check run outside Doctor.Run
		base = ctx
	}
	l.once.Do(func() {
		l.done = make(chan struct{})
		go func() {
			defer close(l.done)
			defer func() {
				if p := recover(); p != nil {
					l.err = fmt.Errorf("internal error: %v", p)
				}
			}()
			l.v, l.err = fn(base)
		}()
	})
	select {
	case <-l.done:
		return l.v, l.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// ready returns the value when it has been computed without error. A
// value nobody asked for is never computed after ready.
func (l *lazy[T]) ready() (T, bool) {
	var zero T
	l.once.Do(func() {
		l.done = make(chan struct{})
		l.err = errNotComputed
		close(l.done)
	})
	select {
	case <-l.done:
		return l.v, l.err == nil
	default:
		return zero, false
	}
}
