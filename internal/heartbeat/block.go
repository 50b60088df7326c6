package heartbeat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// blockBackend keeps a slot per host on a shared block device, sbd-like,
// with direct synchronous I/O in 4 KiB units:
//
//	0                      device header ('H' frame: slot count, uuid)
//	4096 + i×4096          owner of slot i ('N' frame: node name)
//	data + i×slotSize      slot i: its message (4 KiB), then its record (16 KiB)
//
// where data = 4096 + slots×4096. Every block has a single writer: the
// owner table entry and the record are written by the owner, the message
// by fencers. "kvmha heartbeat format" writes the header.
type blockBackend struct {
	spec Spec

	mu     sync.Mutex
	slots  int            // from the header, 0 until read
	owners map[string]int // node → slot, as last read
}

const (
	blockHeaderSize = 4096
	ownerSize       = 4096
	slotSize        = MessageSize + RecordSize
	// MaxSlots bounds the slot count of a device.
	MaxSlots = 255
)

// claimSettle is how long a host waits after writing its name into a free
// slot before it checks that no other host claimed it meanwhile (a
// variable for tests).
var claimSettle = time.Second

// DeviceSize is the space a device with n slots needs.
func DeviceSize(n int) int64 { return blockHeaderSize + int64(n)*(ownerSize+slotSize) }

type deviceHeader struct {
	Slots int    `json:"slots"`
	UUID  string `json:"uuid"`
}

type slotOwner struct {
	Node string `json:"node"`
}

func newBlockBackend(s Spec) *blockBackend { return &blockBackend{spec: s} }

func (b *blockBackend) URI() string { return b.spec.String() }

func (b *blockBackend) open(flag int) (*os.File, error) {
	f, _, err := openDirect(b.spec.Path, flag, 0)
	return f, err
}

func (b *blockBackend) readAt(off int64, size int) ([]byte, error) {
	f, err := b.open(os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := alignedBuf(size)
	n, err := readFull(f, buf, off)
	if err != nil {
		return nil, err
	}
	if n < size {
		return nil, fmt.Errorf("%s: short read at %d (%d of %d bytes): device too small", b.spec.Path, off, n, size)
	}
	return buf, nil
}

func (b *blockBackend) writeAt(off int64, frame []byte, size int) error {
	buf, err := padded(frame, size)
	if err != nil {
		return err
	}
	f, err := b.open(os.O_WRONLY)
	if err != nil {
		return err
	}
	_, werr := f.WriteAt(buf, off)
	cerr := f.Close()
	if werr != nil {
		return werr
	}
	return cerr
}

// header reads (once) the slot count.
func (b *blockBackend) header() (int, error) {
	b.mu.Lock()
	n := b.slots
	b.mu.Unlock()
	if n > 0 {
		return n, nil
	}
	data, err := b.readAt(0, blockHeaderSize)
	if err != nil {
		return 0, err
	}
	var h deviceHeader
	if err := decodeFrame(data, kindDevice, blockHeaderSize, &h); err != nil {
		if errors.Is(err, ErrEmpty) {
			return 0, fmt.Errorf("%s is not formatted (kvmha heartbeat format %s)", b.spec.Path, b.spec)
		}
		return 0, fmt.Errorf("%s: device header: %w", b.spec.Path, err)
	}
	if h.Slots < 1 || h.Slots > MaxSlots {
		return 0, fmt.Errorf("%s: device header says %d slots", b.spec.Path, h.Slots)
	}
	b.mu.Lock()
	b.slots = h.Slots
	b.mu.Unlock()
	return h.Slots, nil
}

// table reads the owner table: owners by slot ("" for a free slot).
func (b *blockBackend) table() ([]string, error) {
	n, err := b.header()
	if err != nil {
		return nil, err
	}
	data, err := b.readAt(blockHeaderSize, n*ownerSize)
	if err != nil {
		return nil, err
	}
	owners := make([]string, n)
	index := map[string]int{}
	for i := range owners {
		var o slotOwner
		err := decodeFrame(data[i*ownerSize:(i+1)*ownerSize], kindOwner, ownerSize, &o)
		if err != nil || !ValidNodeName(o.Node) {
			continue // free, or unreadable: never claimed over by Register
		}
		owners[i] = o.Node
		if _, dup := index[o.Node]; !dup {
			index[o.Node] = i
		}
	}
	b.mu.Lock()
	b.owners = index
	b.mu.Unlock()
	return owners, nil
}

// slotOf returns the offset of node's slot, reading the table again when
// the slot is not known.
func (b *blockBackend) slotOf(node string) (int64, error) {
	n, err := b.header()
	if err != nil {
		return 0, err
	}
	b.mu.Lock()
	i, ok := b.owners[node]
	b.mu.Unlock()
	if !ok {
		if _, err := b.table(); err != nil {
			return 0, err
		}
		b.mu.Lock()
		i, ok = b.owners[node]
		b.mu.Unlock()
		if !ok {
			return 0, ErrNotFound
		}
	}
	return blockHeaderSize + int64(n)*ownerSize + int64(i)*slotSize, nil
}

// Register claims a free slot for node unless it has one. After writing its
// name it waits claimSettle and reads the entry back: when two hosts took
// the same free slot, the one whose name is gone tries the next.
func (b *blockBackend) Register(ctx context.Context, node string) error {
	if !ValidNodeName(node) {
		return errors.New("invalid node name " + agentlog.Clip(node))
	}
	frame, err := encodeFrame(kindOwner, slotOwner{Node: node}, ownerSize)
	if err != nil {
		return err
	}
	for attempt := 0; attempt < 5; attempt++ {
		owners, err := b.table()
		if err != nil {
			return err
		}
		free := -1
		for i, o := range owners {
			if o == node {
				return nil
			}
			if o == "" && free < 0 {
				free = i
			}
		}
		if free < 0 {
			return fmt.Errorf("%s: all %d slots are taken", b.spec.Path, len(owners))
		}
		if err := b.writeAt(blockHeaderSize+int64(free)*ownerSize, frame, ownerSize); err != nil {
			return err
		}
		select {
		case <-time.After(claimSettle):
		case <-ctx.Done():
			return ctx.Err()
		}
		if owners, err = b.table(); err != nil {
			return err
		}
		if owners[free] == node {
			return nil
		}
	}
	return fmt.Errorf("%s: could not claim a slot (other hosts kept taking the same one)", b.spec.Path)
}

func (b *blockBackend) WriteRecord(_ context.Context, node string, frame []byte) error {
	off, err := b.slotOf(node)
	if err != nil {
		return err
	}
	return b.writeAt(off+MessageSize, frame, RecordSize)
}

func (b *blockBackend) ReadRecord(_ context.Context, node string) ([]byte, error) {
	off, err := b.slotOf(node)
	if err != nil {
		return nil, err
	}
	return b.readAt(off+MessageSize, RecordSize)
}

func (b *blockBackend) WriteMessage(_ context.Context, node string, frame []byte) error {
	off, err := b.slotOf(node)
	if err != nil {
		return err
	}
	return b.writeAt(off, frame, MessageSize)
}

func (b *blockBackend) ReadMessage(_ context.Context, node string) ([]byte, error) {
	off, err := b.slotOf(node)
	if err != nil {
		return nil, err
	}
	return b.readAt(off, MessageSize)
}

func (b *blockBackend) Hosts(_ context.Context) ([]string, error) {
	owners, err := b.table()
	if err != nil {
		return nil, err
	}
	var hosts []string
	for _, o := range owners {
		if o != "" {
			hosts = append(hosts, o)
		}
	}
	return hosts, nil
}

func (b *blockBackend) Close() error { return nil }

// FormatDevice writes a fresh layout with n slots to a block backend's
// device (or an image file), erasing every slot. It refuses a device that
// is too small.
func FormatDevice(s Spec, n int) error {
	if s.Scheme != SchemeBlock {
		return fmt.Errorf("%s is no block backend", s)
	}
	if n < 1 || n > MaxSlots {
		return fmt.Errorf("slot count %d not in 1..%d", n, MaxSlots)
	}
	f, _, err := openDirect(s.Path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if size < DeviceSize(n) {
		return fmt.Errorf("%s has %d bytes, %d slots need %d", s.Path, size, n, DeviceSize(n))
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	hdr, err := encodeFrame(kindDevice, deviceHeader{Slots: n, UUID: hex.EncodeToString(id)}, blockHeaderSize)
	if err != nil {
		return err
	}
	// Erase first, then write the header: an interrupted format leaves an
	// unformatted device, never a header over stale slots.
	zero := alignedBuf(1 << 20)
	for off := int64(blockHeaderSize); off < DeviceSize(n); off += int64(len(zero)) {
		chunk := zero[:min(int64(len(zero)), DeviceSize(n)-off)]
		if _, err := f.WriteAt(chunk, off); err != nil {
			return err
		}
	}
	buf, err := padded(hdr, blockHeaderSize)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(buf, 0)
	return err
}
