package heartbeat

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestReadNewest(t *testing.T) {
	put := func(s *MemoryStore, inc, seq uint64) {
		r := testRecord()
		r.Incarnation, r.Seq = inc, seq
		data, err := EncodeRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		s.PutRecord("node1", data)
	}
	older, newer, empty, failing, hung := NewMemoryStore("mem://older"), NewMemoryStore("mem://newer"),
		NewMemoryStore("mem://empty"), NewMemoryStore("mem://failing"), NewMemoryStore("mem://hung")
	put(older, 7, 50)
	put(newer, 8, 1)
	put(failing, 9, 1)
	put(hung, 9, 2)
	fv, hv := failing.View(), hung.View()
	fv.Fail(errors.New("boom"))
	hv.Hang(true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	rec, errs := ReadNewest(ctx, []Backend{older.View(), newer.View(), empty.View(), fv, hv}, "node1")
	if rec == nil || rec.Incarnation != 8 || rec.Seq != 1 {
		t.Fatalf("newest: %+v", rec)
	}
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "mem://failing: boom") || !strings.Contains(errs[1].Error(), "mem://hung") {
		t.Fatalf("errors: %v", errs)
	}
	// A damaged frame is an error, never a record.
	data, _ := EncodeRecord(testRecord())
	data[len(data)-1] ^= 1
	older.PutRecord("node1", data)
	if rec, errs := ReadNewest(context.Background(), []Backend{older.View(), empty.View()}, "node1"); rec != nil || len(errs) != 1 ||
		!errors.Is(errs[0], ErrBadFrame) {
		t.Fatalf("damaged: %+v %v", rec, errs)
	}
	if rec, errs := ReadNewest(context.Background(), []Backend{empty.View()}, "node1"); rec != nil || errs != nil {
		t.Fatalf("nowhere: %+v %v", rec, errs)
	}
}
