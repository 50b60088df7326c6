package heartbeat_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/heartbeattest"
)

func TestReadNewest(t *testing.T) {
	put := func(s *heartbeattest.MemoryStore, inc, seq uint64) {
		r := heartbeat.SampleRecord()
		r.Incarnation, r.Seq = inc, seq
		data, err := heartbeat.EncodeRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		s.PutRecord("node1", data)
	}
	older, newer, empty, failing, hung := heartbeattest.NewMemoryStore("mem://older"), heartbeattest.NewMemoryStore("mem://newer"),
		heartbeattest.NewMemoryStore("mem://empty"), heartbeattest.NewMemoryStore("mem://failing"), heartbeattest.NewMemoryStore("mem://hung")
	put(older, 7, 50)
	put(newer, 8, 1)
	put(failing, 9, 1)
	put(hung, 9, 2)
	fv, hv := failing.View(), hung.View()
	fv.Fail(errors.New("boom"))
	hv.Hang(true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	rec, errs := heartbeat.ReadNewest(ctx, []heartbeat.Backend{older.View(), newer.View(), empty.View(), fv, hv}, "node1")
	if rec == nil || rec.Incarnation != 8 || rec.Seq != 1 {
		t.Fatalf("newest: %+v", rec)
	}
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "mem://failing: boom") || !strings.Contains(errs[1].Error(), "mem://hung") {
		t.Fatalf("errors: %v", errs)
	}
	// A damaged frame is an error, never a record.
	data, _ := heartbeat.EncodeRecord(heartbeat.SampleRecord())
	data[len(data)-1] ^= 1
	older.PutRecord("node1", data)
	if rec, errs := heartbeat.ReadNewest(context.Background(), []heartbeat.Backend{older.View(), empty.View()}, "node1"); rec != nil || len(errs) != 1 ||
		!errors.Is(errs[0], heartbeat.ErrBadFrame) {
		t.Fatalf("damaged: %+v %v", rec, errs)
	}
	if rec, errs := heartbeat.ReadNewest(context.Background(), []heartbeat.Backend{empty.View()}, "node1"); rec != nil || errs != nil {
		t.Fatalf("nowhere: %+v %v", rec, errs)
	}
}
