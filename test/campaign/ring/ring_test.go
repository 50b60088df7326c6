package ring

import "testing"

func write(img []byte, r Record) {
	if err := r.Encode(img[r.Slot()*SlotSize:]); err != nil {
		panic(err)
	}
}

func TestRoundTripAndNext(t *testing.T) {
	img := make([]byte, Size)
	gen, pos := Next(Parse(img))
	if gen != 1 || pos != 0 {
		t.Fatalf("empty ring: gen %d pos %d", gen, pos)
	}
	for i := uint64(0); i < 5; i++ {
		write(img, Record{Pos: i, Gen: 1, Seq: i + 1, Guest: "vm1"})
	}
	recs := Parse(img)
	if len(recs) != 5 || recs[4].Seq != 5 || recs[0].Guest != "vm1" {
		t.Fatalf("parsed %+v", recs)
	}
	if gen, pos := Next(recs); gen != 2 || pos != 5 {
		t.Fatalf("next: gen %d pos %d", gen, pos)
	}
	if o := Overlaps(recs); len(o) != 0 {
		t.Fatalf("overlaps in a clean history: %v", o)
	}
}

func TestWrapAroundIsClean(t *testing.T) {
	img := make([]byte, Size)
	var pos uint64
	for gen := uint64(1); gen <= 3; gen++ {
		for seq := uint64(1); seq <= 700; seq++ {
			write(img, Record{Pos: pos, Gen: gen, Seq: seq, Guest: "vm1"})
			pos++
		}
	}
	recs := Parse(img)
	if len(recs) != Slots {
		t.Fatalf("%d records", len(recs))
	}
	if o := Overlaps(recs); len(o) != 0 {
		t.Fatalf("overlaps after wrapping: %v", o[0])
	}
	if b := Boots(recs); len(b) != 2 || b[0].Gen != 2 || b[1].MaxSeq != 700 {
		t.Fatalf("boots %+v", b)
	}
}

func TestSplitBrainIsFound(t *testing.T) {
	img := make([]byte, Size)
	for i := uint64(0); i < 10; i++ {
		write(img, Record{Pos: i, Gen: 1, Seq: i + 1, Guest: "vm1"})
	}
	// Boot 2 starts at 10; boot 1 goes on writing 10, 11, 12 (its own next positions).
	write(img, Record{Pos: 10, Gen: 2, Seq: 1, Guest: "vm1"})
	write(img, Record{Pos: 11, Gen: 2, Seq: 2, Guest: "vm1"})
	write(img, Record{Pos: 11, Gen: 1, Seq: 12, Guest: "vm1"})
	o := Overlaps(Parse(img))
	if len(o) != 1 || o[0].Late.Seq != 12 || o[0].Newer.Gen != 2 {
		t.Fatalf("overlaps %v", o)
	}
}

func TestTornSlotIsIgnored(t *testing.T) {
	img := make([]byte, Size)
	write(img, Record{Pos: 0, Gen: 1, Seq: 1, Guest: "vm1"})
	img[20] ^= 0xff
	if recs := Parse(img); len(recs) != 0 {
		t.Fatalf("torn record parsed: %+v", recs)
	}
	// A record in the wrong slot is damage.
	write(img, Record{Pos: 5, Gen: 1, Seq: 6, Guest: "vm1"})
	copy(img[SlotSize:2*SlotSize], img[5*SlotSize:6*SlotSize])
	clear(img[5*SlotSize : 6*SlotSize])
	if recs := Parse(img); len(recs) != 0 {
		t.Fatalf("misplaced record parsed: %+v", recs)
	}
}
