package agentlog

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// recorder is a write function that keeps what it is given; gate, when not
// nil, makes every write wait for a value or for gate to be closed.
type recorder struct {
	mu       sync.Mutex
	got      []string
	finished int
	gate     chan struct{}
}

func (r *recorder) write(s string) {
	if r.gate != nil {
		<-r.gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, s)
}

func (r *recorder) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished++
}

func (r *recorder) snapshot() ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...), r.finished
}

func TestQueueDeliversInOrderThenFinishes(t *testing.T) {
	r := &recorder{}
	q := NewQueue(4, r.write, r.finish)
	for i := 0; i < 3; i++ {
		if !q.Send(fmt.Sprint(i)) {
			t.Fatalf("record %d refused", i)
		}
	}
	if !q.Close(5*time.Second, nil) {
		t.Fatal("close timed out")
	}
	got, finished := r.snapshot()
	if fmt.Sprint(got) != "[0 1 2]" || finished != 1 {
		t.Errorf("got %v, finish called %d times", got, finished)
	}
}

// The writer hangs for good (a syslog socket nobody reads): sending must
// still never wait, and closing must give up at its bound.
func TestQueueFullDropsAndNeverBlocks(t *testing.T) {
	r := &recorder{gate: make(chan struct{})}
	defer close(r.gate)
	q := NewQueue(8, r.write, nil)
	done := make(chan int)
	go func() {
		accepted := 0
		for i := 0; i < 10000; i++ {
			if q.Send("m") {
				accepted++
			}
		}
		done <- accepted
	}()
	select {
	case accepted := <-done:
		// 8 waiting, plus at most one taken by the hung writer.
		if accepted > 9 {
			t.Errorf("%d records accepted by a queue of 8", accepted)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Send blocked")
	}
	start := time.Now()
	if q.Close(50*time.Millisecond, nil) {
		t.Error("close claims a hung writer finished")
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > time.Second {
		t.Errorf("close waited %s for a 50ms bound", d)
	}
}

// The same through the syslog sink, as the fence runtime uses it.
func TestQueueToHungSyslogNeverBlocks(t *testing.T) {
	sl := &fakeSyslog{block: make(chan struct{})}
	defer close(sl.block)
	sink := NewSyslog(func() (SyslogWriter, error) { return sl, nil })
	q := NewQueue(128, func(msg string) { sink.Write(Error, msg) }, func() { _ = sink.Close() })
	done := make(chan struct{})
	go func() {
		for i := 0; i < 10000; i++ {
			q.Send("m")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Send blocked")
	}
	start := time.Now()
	q.Close(50*time.Millisecond, nil)
	if time.Since(start) > time.Second {
		t.Error("close blocked")
	}
}

func TestQueueCloseWaitsForBacklog(t *testing.T) {
	slow := func(string) { time.Sleep(10 * time.Millisecond) }
	q := NewQueue(16, slow, nil)
	for i := 0; i < 5; i++ {
		q.Send("m")
	}
	if !q.Close(5*time.Second, nil) {
		t.Error("close gave up on a writer that was only slow")
	}
}

func TestQueueReportsDropsLast(t *testing.T) {
	r := &recorder{gate: make(chan struct{})}
	q := NewQueue(2, r.write, nil)
	q.Send("a")
	// Wait until the writer holds "a", so exactly two more fit.
	for deadline := time.Now().Add(5 * time.Second); len(q.ch) > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("writer never took the first record")
		}
	}
	for _, s := range []string{"b", "c", "d", "e"} {
		q.Send(s)
	}
	close(r.gate)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if got, _ := r.snapshot(); len(got) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("backlog not written")
		}
	}
	if !q.Close(5*time.Second, func(n int) string { return fmt.Sprintf("%d dropped", n) }) {
		t.Fatal("close timed out")
	}
	if got, _ := r.snapshot(); fmt.Sprint(got) != "[a b c 2 dropped]" {
		t.Errorf("got %v", got)
	}
}

func TestQueueNoSummaryWithoutDrops(t *testing.T) {
	r := &recorder{}
	q := NewQueue(2, r.write, nil)
	q.Send("a")
	q.Close(5*time.Second, func(n int) string { return "unexpected" })
	if got, _ := r.snapshot(); fmt.Sprint(got) != "[a]" {
		t.Errorf("got %v", got)
	}
}

// An action abandoned at its deadline may log after the runtime closed the
// queue: that must be refused quietly, not panic or count as a drop.
func TestQueueRefusesAfterClose(t *testing.T) {
	r := &recorder{}
	q := NewQueue(2, r.write, r.finish)
	q.Close(5*time.Second, nil)
	if q.Send("late") {
		t.Error("record accepted after close")
	}
	if q.dropped != 0 {
		t.Errorf("late record counted as dropped: %d", q.dropped)
	}
	if !q.Close(time.Second, nil) {
		t.Error("second close did not report the finished writer")
	}
	if got, finished := r.snapshot(); len(got) != 0 || finished != 1 {
		t.Errorf("got %v, finish called %d times", got, finished)
	}
}
