package libvirt

import "testing"

func TestBlockStatsSumsDisks(t *testing.T) {
	var s BlockStats
	for _, p := range []struct {
		field string
		value any
	}{
		{"block.count", uint32(2)},
		{"block.0.name", "vda"},
		{"block.0.rd.reqs", uint64(10)}, {"block.0.rd.bytes", uint64(4096)},
		{"block.0.wr.reqs", uint64(3)}, {"block.0.wr.bytes", uint64(512)},
		{"block.1.rd.reqs", uint64(1)}, {"block.1.wr.bytes", uint64(8)},
		{"block.1.allocation", uint64(1 << 20)},
		{"state.state", int32(1)},
		{"block.1.rd.reqs", "not a number"},
	} {
		s.add(p.field, p.value)
	}
	want := BlockStats{RdReqs: 11, RdBytes: 4096, WrReqs: 3, WrBytes: 520}
	if s != want {
		t.Fatalf("got %+v, want %+v", s, want)
	}
}
