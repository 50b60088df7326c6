package heartbeat

import (
	"fmt"
	"strings"
	"testing"
)

// The decoders read slots any host (or a broken disk) may have written:
// whatever the bytes, they return a record or an error, never panic, and a
// record they return encodes again.

func FuzzDecodeRecord(f *testing.F) {
	good, _ := EncodeRecord(testRecord())
	f.Add(good)
	withDisks, _ := EncodeRecord(diskRecord())
	f.Add(withDisks)
	f.Add([]byte{})
	f.Add(make([]byte, 64))
	f.Add([]byte("KVHB\x01B\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00{}"))
	// testdata/fuzz/FuzzDecodeRecord holds more: a record of a writer before
	// disks, a full slot's, unknown disk kinds and fields.
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRecord(data)
		if err != nil {
			return
		}
		again, err := EncodeRecord(r)
		if err != nil {
			t.Fatalf("decoded record does not encode: %v", err)
		}
		if len(again) > RecordSize {
			t.Fatalf("encoded to %d bytes", len(again))
		}
		// Whatever a record lists, asking it about a use never fails.
		for _, g := range r.Guests {
			u := Use{Name: g.Name, UUID: g.UUID, Disks: g.Disks}
			r.Conflicts(u)
		}
	})
}

// However many guests and disks a host runs, its record fits its slot, and
// what is left out is counted: guests in GuestsMore, disks in DisksMore (and
// a guest that lost a writable disk says so).
func FuzzEncodeRecordFits(f *testing.F) {
	f.Add(uint16(3), uint8(2), "/shared/images/vm", "wwn:600a0b80", true)
	f.Add(uint16(80), uint8(3), "rbd/pool-with-a-long-name/image", "", false)
	f.Add(uint16(700), uint8(1), "x", "serial:ABC", true)
	f.Add(uint16(20), uint8(64), strings.Repeat("p", 200), strings.Repeat("i", 200), false)
	f.Fuzz(func(t *testing.T, guests uint16, disks uint8, source, id string, io bool) {
		n, m := int(guests%2000), int(disks)%(MaxGuestDisks+1)
		if source == "" || len(source) > 300 || len(id) > 200 {
			return
		}
		r := testRecord()
		r.GuestDisks = true
		r.Guests = nil
		writable := make([]int, n)
		for i := 0; i < n; i++ {
			g := Guest{Name: fmt.Sprintf("g%d", i), UUID: fmt.Sprintf("%036d", i)}
			if io {
				g.IO = &GuestIO{WrReqs: uint64(i)}
			}
			for j := 0; j < m; j++ {
				d := Disk{Target: fmt.Sprintf("vd%d", j), Kind: []string{DiskFile, DiskBlock, DiskRBD}[j%3],
					Source: fmt.Sprintf("%s-%d-%d", source, i, j), ReadOnly: j%4 == 3, Shareable: j%5 == 4}
				if id != "" && d.Kind == DiskBlock {
					d.IDs = []string{id}
				}
				if io {
					d.IO = &DiskIO{WrReqs: uint64(j)}
				}
				if d.Writable() {
					writable[i]++
				}
				g.Disks = append(g.Disks, d)
			}
			r.Guests = append(r.Guests, g)
		}
		data, err := EncodeRecord(r)
		if err != nil {
			t.Fatalf("%d guests of %d disks: %v", n, m, err)
		}
		got, err := DecodeRecord(data)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Guests)+got.GuestsMore != n {
			t.Fatalf("%d guests + %d more, of %d", len(got.Guests), got.GuestsMore, n)
		}
		for i, g := range got.Guests {
			kept := 0
			for _, d := range g.Disks {
				if d.Writable() {
					kept++
				}
			}
			if len(g.Disks)+g.DisksMore != m || (kept < writable[i] && !g.DisksIncomplete) || (g.DisksIncomplete && kept == writable[i]) {
				t.Fatalf("guest %d: %d disks (%d writable of %d) + %d more, incomplete %v", i, len(g.Disks), kept, writable[i], g.DisksMore, g.DisksIncomplete)
			}
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	good, _ := EncodeMessage(&Message{ID: "0123456789abcdef", To: "n", Cmd: CmdOff})
	f.Add(good)
	f.Add([]byte("KVHB\x01M"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMessage(data)
		if err != nil {
			return
		}
		if _, err := EncodeMessage(m); err != nil {
			t.Fatalf("decoded message does not encode: %v", err)
		}
	})
}

func FuzzParseBackends(f *testing.F) {
	for _, s := range []string{"rados://rbd/ns file:///srv/hb", "block:///dev/sdb,file:///a", "rados://", "file://x", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		specs, err := ParseBackends(s)
		if err != nil {
			return
		}
		for _, sp := range specs {
			again, err := ParseBackend(sp.String())
			if err != nil || again != sp {
				t.Fatalf("%q: canonical form %q does not parse back (%v)", s, sp, err)
			}
		}
	})
}

func FuzzDecodeBlockFrames(f *testing.F) {
	h, _ := encodeFrame(kindDevice, deviceHeader{Slots: 3, UUID: "u"}, blockHeaderSize)
	o, _ := encodeFrame(kindOwner, slotOwner{Node: "n1"}, ownerSize)
	f.Add(h)
	f.Add(o)
	f.Fuzz(func(t *testing.T, data []byte) {
		var dh deviceHeader
		_ = decodeFrame(data, kindDevice, blockHeaderSize, &dh)
		var so slotOwner
		_ = decodeFrame(data, kindOwner, ownerSize, &so)
	})
}
