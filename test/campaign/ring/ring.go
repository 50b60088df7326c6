// Package ring is the on-disk format of the campaign guests' write log: a ring of fixed-size
// slots at the start of each guest's disk. The writer inside the guest (test/lab/guest-writer)
// appends records; the campaign's checker reads the same disk from outside (librbd) and
// judges the history. It is deliberately independent of every kvmha package: the checker
// must not share code with what it checks.
//
// A record names the guest, the boot that wrote it (gen: one more than the highest
// generation the boot found on the disk; id: random per boot), its sequence number within
// that boot, and its absolute position. Each boot continues at the position after the
// highest one it found, so in a history without two writers the generations never go down
// as the positions go up. A record of an older boot at or after the first position of a
// newer boot is a write that landed after the newer boot had started: a split brain.
package ring

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
)

const (
	// SlotSize is one record's slot: a multiple of every sector size, for O_DIRECT.
	SlotSize = 4096
	// Slots is the ring's length; the ring takes Slots*SlotSize bytes from offset 0.
	Slots = 1024
	// Size is the bytes the ring occupies.
	Size = Slots * SlotSize

	magic   = "KVMHARNG"
	version = 1
	// headerLen is the part of a slot the checksum covers.
	headerLen = 128
	nameLen   = 64
)

// Record is one write of the guest's writer.
type Record struct {
	Pos    uint64   // absolute position; the slot is Pos % Slots
	Gen    uint64   // the boot's generation
	Seq    uint64   // 1, 2, 3... within the boot
	Nanos  int64    // the guest's clock at the write (informational)
	BootID [16]byte // random per boot
	Guest  string   // the writer's guest name
}

// Slot is the slot index of the record.
func (r Record) Slot() int { return int(r.Pos % Slots) }

// ID is the boot id in hex.
func (r Record) ID() string { return hex.EncodeToString(r.BootID[:]) }

// Encode writes r into a slot-sized buffer.
func (r Record) Encode(slot []byte) error {
	if len(slot) < SlotSize {
		return errors.New("ring: short slot buffer")
	}
	if len(r.Guest) > nameLen {
		return fmt.Errorf("ring: guest name longer than %d bytes", nameLen)
	}
	clear(slot[:SlotSize])
	copy(slot[0:8], magic)
	binary.LittleEndian.PutUint32(slot[8:12], version)
	binary.LittleEndian.PutUint64(slot[16:24], r.Pos)
	binary.LittleEndian.PutUint64(slot[24:32], r.Gen)
	binary.LittleEndian.PutUint64(slot[32:40], r.Seq)
	binary.LittleEndian.PutUint64(slot[40:48], uint64(r.Nanos))
	copy(slot[48:64], r.BootID[:])
	copy(slot[64:64+nameLen], r.Guest)
	binary.LittleEndian.PutUint32(slot[12:16], crc32.ChecksumIEEE(slot[16:headerLen]))
	return nil
}

// Decode reads a slot; ok is false for an empty, torn or foreign slot.
func Decode(slot []byte) (Record, bool) {
	if len(slot) < headerLen || string(slot[0:8]) != magic || binary.LittleEndian.Uint32(slot[8:12]) != version {
		return Record{}, false
	}
	if binary.LittleEndian.Uint32(slot[12:16]) != crc32.ChecksumIEEE(slot[16:headerLen]) {
		return Record{}, false
	}
	r := Record{
		Pos:   binary.LittleEndian.Uint64(slot[16:24]),
		Gen:   binary.LittleEndian.Uint64(slot[24:32]),
		Seq:   binary.LittleEndian.Uint64(slot[32:40]),
		Nanos: int64(binary.LittleEndian.Uint64(slot[40:48])),
		Guest: string(bytes.TrimRight(slot[64:64+nameLen], "\x00")),
	}
	copy(r.BootID[:], slot[48:64])
	return r, true
}

// Parse decodes a whole ring image (Size bytes, or fewer: missing slots are empty). A
// record whose position does not belong to the slot it sits in is dropped: it cannot have
// been written by a writer, so it is damage, not history.
func Parse(image []byte) []Record {
	var out []Record
	for i := 0; i < Slots && (i+1)*SlotSize <= len(image); i++ {
		r, ok := Decode(image[i*SlotSize : (i+1)*SlotSize])
		if !ok || r.Slot() != i {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Pos < out[b].Pos })
	return out
}

// Boot summarises one boot's records in a ring.
type Boot struct {
	Gen            uint64
	ID             string
	MinSeq, MaxSeq uint64
	MinPos, MaxPos uint64
	Records        int
}

// Boots lists the boots found in records, oldest generation first.
func Boots(records []Record) []Boot {
	byGen := map[uint64]*Boot{}
	for _, r := range records {
		b := byGen[r.Gen]
		if b == nil {
			b = &Boot{Gen: r.Gen, ID: r.ID(), MinSeq: r.Seq, MaxSeq: r.Seq, MinPos: r.Pos, MaxPos: r.Pos}
			byGen[r.Gen] = b
		}
		b.Records++
		b.MinSeq, b.MaxSeq = min(b.MinSeq, r.Seq), max(b.MaxSeq, r.Seq)
		b.MinPos, b.MaxPos = min(b.MinPos, r.Pos), max(b.MaxPos, r.Pos)
	}
	out := make([]Boot, 0, len(byGen))
	for _, b := range byGen {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Gen < out[j].Gen })
	return out
}

// Overlap is a write of an older boot at or after the first position of a newer one.
type Overlap struct {
	Late  Record // the older boot's record
	Newer Boot   // the boot it landed after
}

func (o Overlap) String() string {
	return fmt.Sprintf("boot gen %d (seq %d) wrote position %d after boot gen %d had started at position %d",
		o.Late.Gen, o.Late.Seq, o.Late.Pos, o.Newer.Gen, o.Newer.MinPos)
}

// Overlaps finds every split-brain write in records. Records of one boot whose
// generation is the same as another boot's (two boots that read the ring at the same time
// and both chose the same generation) are reported too, as two boot ids of one generation.
func Overlaps(records []Record) []Overlap {
	boots := Boots(records)
	var out []Overlap
	for _, r := range records {
		for _, b := range boots {
			if b.Gen > r.Gen && r.Pos >= b.MinPos {
				out = append(out, Overlap{Late: r, Newer: b})
				break
			}
		}
	}
	return out
}

// TwinBoots lists generations written by more than one boot id.
func TwinBoots(records []Record) map[uint64][]string {
	ids := map[uint64]map[string]bool{}
	for _, r := range records {
		if ids[r.Gen] == nil {
			ids[r.Gen] = map[string]bool{}
		}
		ids[r.Gen][r.ID()] = true
	}
	out := map[uint64][]string{}
	for gen, set := range ids {
		if len(set) > 1 {
			for id := range set {
				out[gen] = append(out[gen], id)
			}
			sort.Strings(out[gen])
		}
	}
	return out
}

// Next is where a new boot starts: one generation above, one position after, the newest
// record (generation 1 at position 0 on an empty disk).
func Next(records []Record) (gen, pos uint64) {
	for _, r := range records {
		gen = max(gen, r.Gen)
		pos = max(pos, r.Pos+1)
	}
	return gen + 1, pos
}
