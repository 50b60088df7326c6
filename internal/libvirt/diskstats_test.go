package libvirt

import (
	"reflect"
	"testing"
)

func TestDisksOfReadsEachDisk(t *testing.T) {
	got := disksOf([]statField{
		{"block.count", uint32(3)},
		{"block.1.name", "vdb"}, {"block.1.path", "/srv/b.img"},
		{"block.1.wr.reqs", uint64(7)}, {"block.1.wr.bytes", uint64(4096)},
		{"block.0.name", "vda"},
		{"block.0.rd.reqs", uint64(10)}, {"block.0.rd.bytes", uint64(512)},
		{"block.0.allocation", uint64(1 << 20)},
		{"block.2.rd.reqs", uint64(1)}, // no name: not a disk to report
		{"block.x.name", "bad"}, {"block.-1.name", "bad"}, {"block.99999.name", "bad"},
		{"block.0.wr.reqs", "not a number"},
		{"state.state", int32(1)},
	})
	want := []DiskStats{
		{Name: "vda", RdReqs: 10, RdBytes: 512},
		{Name: "vdb", Path: "/srv/b.img", WrReqs: 7, WrBytes: 4096},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}
