package agentlog

import (
	"sync"
	"time"
)

// Queue hands records to a write function running on its own goroutine.
//
// Agents log from actions that must finish within a cluster timeout, while
// the places logs go to (a syslog socket, a log file on NFS) can hang. So
// Send never waits: when the queue is full the record is dropped and counted.
// And Close waits for the backlog only up to a bound, after which the process
// may exit with the writer still stuck.
type Queue[T any] struct {
	mu      sync.Mutex // guards closed, dropped and sends on ch: a send on a closed channel panics
	closed  bool
	dropped int
	ch      chan T
	done    chan struct{} // closed when the writer has finished
}

// NewQueue starts the writer goroutine with room for size waiting records.
// write is called for each record, in order; finish, if not nil, once after
// the last, to release whatever write opened.
func NewQueue[T any](size int, write func(T), finish func()) *Queue[T] {
	q := &Queue[T]{ch: make(chan T, size), done: make(chan struct{})}
	go func() {
		defer close(q.done)
		for rec := range q.ch {
			write(rec)
		}
		if finish != nil {
			finish()
		}
	}()
	return q
}

// Send queues rec without waiting and reports whether it was accepted. A
// record is refused when the queue is full (counted; see Close) or closed
// (not counted: an action abandoned at its deadline may still be logging
// after the runtime has given its verdict, and that is expected).
func (q *Queue[T]) Send(rec T) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	select {
	case q.ch <- rec:
		return true
	default:
		q.dropped++
		return false
	}
}

// Close stops accepting records and waits at most wait for the writer to
// finish the backlog; it reports whether it did. If records were dropped and
// summary is not nil, summary(dropped) is queued last, room permitting, so
// the log itself says it has gaps. Calling Close again only waits.
func (q *Queue[T]) Close(wait time.Duration, summary func(dropped int) T) bool {
	q.mu.Lock()
	if !q.closed {
		if q.dropped > 0 && summary != nil {
			select {
			case q.ch <- summary(q.dropped):
			default:
			}
		}
		q.closed = true
		close(q.ch)
	}
	q.mu.Unlock()

	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-q.done:
		return true
	case <-timer.C:
		return false
	}
}
