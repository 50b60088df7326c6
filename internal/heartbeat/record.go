package heartbeat

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"regexp"
	"sort"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// A frame is what a backend stores: a 16-byte header, then a JSON payload.
//
//	0  "KVHB"      magic
//	4  1           format version
//	5  kind        'B' record (beat), 'M' fence message, 'N' block slot owner, 'H' block header
//	6  0 0         reserved
//	8  uint32 BE   payload length
//	12 uint32 BE   CRC-32C of the payload
//
// Anything after the payload (the zero padding of a block slot) is ignored.
// The CRC turns a torn read of a slot being rewritten into an error, which
// a reader treats like a failed read, never like a change or a stale record.
const (
	frameMagic   = "KVHB"
	frameVersion = 1
	headerSize   = 16

	kindRecord  = 'B'
	kindMessage = 'M'
	kindOwner   = 'N'
	kindDevice  = 'H'
)

// Size limits of the frames. Every backend stores a record in RecordSize
// bytes and a message in MessageSize bytes (the block layout uses them as
// its slot sizes, the file backend pads to them for direct I/O).
const (
	RecordSize  = 16 << 10
	MessageSize = 4 << 10
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrBadFrame is wrapped by every decoding error.
var ErrBadFrame = errors.New("bad frame")

func badFrame(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadFrame, fmt.Sprintf(format, args...))
}

func encodeFrame(kind byte, v any, limit int) ([]byte, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if headerSize+len(payload) > limit {
		return nil, fmt.Errorf("heartbeat: frame of %d bytes exceeds %d", headerSize+len(payload), limit)
	}
	out := make([]byte, headerSize+len(payload))
	copy(out, frameMagic)
	out[4], out[5] = frameVersion, kind
	binary.BigEndian.PutUint32(out[8:], uint32(len(payload)))
	binary.BigEndian.PutUint32(out[12:], crc32.Checksum(payload, crcTable))
	copy(out[headerSize:], payload)
	return out, nil
}

// decodeFrame checks the header and CRC and unmarshals the payload into v.
// An all-zero buffer (a slot never written) is ErrEmpty.
func decodeFrame(data []byte, kind byte, limit int, v any) error {
	if len(data) < headerSize {
		if allZero(data) {
			return ErrEmpty
		}
		return badFrame("%d bytes, shorter than a header", len(data))
	}
	if !bytes.Equal(data[:4], []byte(frameMagic)) {
		if allZero(data[:headerSize]) {
			return ErrEmpty
		}
		return badFrame("no magic")
	}
	if data[4] != frameVersion {
		return badFrame("format version %d", data[4])
	}
	if data[5] != kind {
		return badFrame("kind %q, want %q", data[5], kind)
	}
	n := binary.BigEndian.Uint32(data[8:])
	if int64(n) > int64(limit-headerSize) || int64(n) > int64(len(data)-headerSize) {
		return badFrame("payload length %d", n)
	}
	payload := data[headerSize : headerSize+int(n)]
	if crc32.Checksum(payload, crcTable) != binary.BigEndian.Uint32(data[12:]) {
		return badFrame("checksum mismatch (torn or corrupt)")
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return badFrame("payload: %v", err)
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// ErrEmpty is returned when a slot holds nothing yet (all zeros).
var ErrEmpty = errors.New("heartbeat: empty slot")

// Record states.
const (
	StateRunning = "running"
	StateStopped = "stopped" // the daemon ended cleanly: its watchdog is disarmed
	StateFencing = "fencing" // the host acknowledged a fence message and is fencing itself
)

// Record is what a host writes with every beat.
type Record struct {
	Node string `json:"node"`
	// Boot is the kernel's boot id: a new one proves the host rebooted.
	Boot string `json:"boot,omitempty"`
	// Incarnation identifies one run of the daemon (its start time in ns).
	Incarnation uint64 `json:"inc"`
	Seq         uint64 `json:"seq"`
	// TimeMs is the writer's wall clock (Unix ms), for humans only.
	TimeMs     int64 `json:"time"`
	IntervalMs int64 `json:"interval_ms"`
	// TimeoutMs: the host stops feeding its watchdog when no quorum of its
	// backends took its record for this long.
	TimeoutMs int64 `json:"timeout_ms"`
	// WatchdogMs is the watchdog's timeout; 0 means no watchdog, and then
	// staleness proves nothing.
	WatchdogMs int64    `json:"watchdog_ms"`
	State      string   `json:"state"`
	Backends   []string `json:"backends"`
	// BackendsOK is how many backends took the host's record recently.
	BackendsOK int `json:"backends_ok"`
	// Addrs are the host's Ceph client addresses (its RADOS session's).
	Addrs      []string `json:"addrs,omitempty"`
	Guests     []Guest  `json:"guests,omitempty"`
	GuestsMore int      `json:"guests_more,omitempty"` // running guests left out to fit the slot
	// GuestDisks: the writer lists each guest's disks (Guest.Disks). Records of
	// writers before it do not, and then say nothing of any guest's disks: a
	// reader must not take a guest without disks for one that uses none.
	GuestDisks bool `json:"guest_disks,omitempty"`
	Ack        *Ack `json:"ack,omitempty"`
}

// Guest is one running guest and its block I/O counters (summed over its
// disks) when the hypervisor gave them.
type Guest struct {
	Name string   `json:"name"`
	UUID string   `json:"uuid,omitempty"`
	IO   *GuestIO `json:"io,omitempty"`
	// Disks are the guest's disks that have a source (see Disk), at most
	// MaxGuestDisks, when the record's GuestDisks is set.
	Disks []Disk `json:"disks,omitempty"`
	// DisksMore counts the disks left out of Disks: beyond MaxGuestDisks, or
	// to fit the record in its slot (see EncodeRecord).
	DisksMore int `json:"disks_more,omitempty"`
	// DisksIncomplete: Disks may lack writable disks of the guest (left out,
	// or its definition could not be read): a reader cannot rule out that the
	// guest uses any disk.
	DisksIncomplete bool `json:"disks_incomplete,omitempty"`
}

// GuestIO are a guest's cumulative block I/O counters. Moving says whether
// they changed since the host's previous beat.
type GuestIO struct {
	RdReqs  uint64 `json:"rd_reqs"`
	RdBytes uint64 `json:"rd_bytes"`
	WrReqs  uint64 `json:"wr_reqs"`
	WrBytes uint64 `json:"wr_bytes"`
	Moving  bool   `json:"moving"`
}

// Ack is a host's answer to a fence message: it is fencing itself.
type Ack struct {
	ID   string `json:"id"`
	Cmd  string `json:"cmd"`
	From string `json:"from,omitempty"`
}

// Interval, Timeout and Watchdog are the record's durations.
func (r *Record) Interval() time.Duration { return time.Duration(r.IntervalMs) * time.Millisecond }
func (r *Record) Timeout() time.Duration  { return time.Duration(r.TimeoutMs) * time.Millisecond }
func (r *Record) Watchdog() time.Duration { return time.Duration(r.WatchdogMs) * time.Millisecond }

// Time is the writer's wall clock at the beat.
func (r *Record) Time() time.Time { return time.UnixMilli(r.TimeMs) }

// Newer orders records of one host: a later incarnation, then a later
// sequence number.
func (r *Record) Newer(o *Record) bool {
	if o == nil {
		return true
	}
	if r.Incarnation != o.Incarnation {
		return r.Incarnation > o.Incarnation
	}
	return r.Seq > o.Seq
}

// Limits that keep a decoded record sane whatever a slot held.
const (
	maxDuration = int64(time.Hour / time.Millisecond)
	maxBackends = 16
	maxURI      = 512
	maxAddrs    = 64
	maxText     = 256
)

var (
	nodeNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	msgIDRE    = regexp.MustCompile(`^[0-9a-f]{16,32}$`)
)

// ValidNodeName reports whether s can name a host: Pacemaker node names as
// DNS-like labels, usable as file and object names.
func ValidNodeName(s string) bool { return nodeNameRE.MatchString(s) }

// EncodeRecord encodes r. A record that does not fit in RecordSize loses,
// in this order, until it fits: the disks' I/O counters; the read-only and
// shareable disks (counted in DisksMore: no reader needs them to rule out a
// conflict); the guests' I/O counters; the disk lists of the guests at the
// end of the list (counted in DisksMore, the guests marked DisksIncomplete);
// then those guests themselves (counted in GuestsMore). Each guest's name
// and UUID stay while any guest keeps its disks. r itself is not changed.
//
// With two writable disks per guest (an image and a file), about 30 guests
// keep everything, about 75 their disk lists, about 150 their names.
func EncodeRecord(r *Record) ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	data, err := encodeFrame(kindRecord, r, RecordSize)
	if err == nil || len(r.Guests) == 0 {
		return data, err
	}
	cp := *r
	cp.Guests = r.Guests
	for _, shed := range []func([]Guest) []Guest{withoutDiskIO, writableDisksOnly, withoutGuestIO} {
		cp.Guests = shed(cp.Guests)
		if data, err = encodeFrame(kindRecord, &cp, RecordSize); err == nil {
			return data, nil
		}
	}
	// The fewest guests that lose their disk lists (the last ones): fewer
	// lists never make the record longer, so bisection finds it.
	full := cp.Guests
	dropped := sort.Search(len(full)+1, func(i int) bool {
		cp.Guests = withDisksOf(full, len(full)-i)
		_, err := encodeFrame(kindRecord, &cp, RecordSize)
		return err == nil
	})
	if dropped <= len(full) {
		cp.Guests = withDisksOf(full, len(full)-dropped)
		return encodeFrame(kindRecord, &cp, RecordSize)
	}
	bare := withDisksOf(full, 0)
	for n := len(bare) / 2; ; n /= 2 {
		cp.Guests = bare[:n]
		cp.GuestsMore = r.GuestsMore + len(bare) - n
		if data, err = encodeFrame(kindRecord, &cp, RecordSize); err == nil || n == 0 {
			return data, err
		}
	}
}

// withoutGuestIO copies guests without their I/O counters.
func withoutGuestIO(guests []Guest) []Guest {
	out := make([]Guest, len(guests))
	for i, g := range guests {
		out[i] = g
		out[i].IO = nil
	}
	return out
}

// withoutDiskIO copies guests without their disks' I/O counters.
func withoutDiskIO(guests []Guest) []Guest {
	out := make([]Guest, len(guests))
	for i, g := range guests {
		out[i] = g
		if len(g.Disks) > 0 {
			out[i].Disks = make([]Disk, len(g.Disks))
			for j, d := range g.Disks {
				d.IO = nil
				out[i].Disks[j] = d
			}
		}
	}
	return out
}

// writableDisksOnly copies guests with their read-only and shareable disks
// left out (and counted).
func writableDisksOnly(guests []Guest) []Guest {
	out := make([]Guest, len(guests))
	for i, g := range guests {
		out[i] = g
		out[i].Disks = nil
		for _, d := range g.Disks {
			if d.Writable() {
				out[i].Disks = append(out[i].Disks, d)
			} else {
				out[i].DisksMore++
			}
		}
	}
	return out
}

// withDisksOf copies guests keeping the disk lists of the first n only; the
// others' disks are counted in DisksMore and, when one was writable, the
// guest is marked DisksIncomplete.
func withDisksOf(guests []Guest, n int) []Guest {
	out := make([]Guest, len(guests))
	copy(out, guests)
	for i := n; i < len(out); i++ {
		g := &out[i]
		for _, d := range g.Disks {
			if d.Writable() {
				g.DisksIncomplete = true
			}
		}
		g.DisksMore += len(g.Disks)
		g.Disks = nil
	}
	return out
}

// DecodeRecord decodes and checks a record frame.
func DecodeRecord(data []byte) (*Record, error) {
	var r Record
	if err := decodeFrame(data, kindRecord, RecordSize, &r); err != nil {
		return nil, err
	}
	if err := r.check(); err != nil {
		return nil, badFrame("%v", err)
	}
	return &r, nil
}

func (r *Record) check() error {
	switch {
	case !ValidNodeName(r.Node):
		return fmt.Errorf("node name %q", agentlog.Clip(r.Node))
	case len(r.Boot) > 64:
		return errors.New("boot id too long")
	case r.IntervalMs <= 0 || r.IntervalMs > maxDuration:
		return fmt.Errorf("interval %d ms", r.IntervalMs)
	case r.TimeoutMs <= 0 || r.TimeoutMs > maxDuration:
		return fmt.Errorf("timeout %d ms", r.TimeoutMs)
	case r.WatchdogMs < 0 || r.WatchdogMs > maxDuration:
		return fmt.Errorf("watchdog %d ms", r.WatchdogMs)
	case r.State != StateRunning && r.State != StateStopped && r.State != StateFencing:
		return fmt.Errorf("state %q", agentlog.Clip(r.State))
	case len(r.Backends) == 0 || len(r.Backends) > maxBackends:
		return fmt.Errorf("%d backends", len(r.Backends))
	case r.BackendsOK < 0 || r.BackendsOK > len(r.Backends):
		return fmt.Errorf("%d backends ok of %d", r.BackendsOK, len(r.Backends))
	case len(r.Addrs) > maxAddrs:
		return fmt.Errorf("%d addresses", len(r.Addrs))
	case r.GuestsMore < 0:
		return errors.New("negative guest count")
	}
	for _, b := range r.Backends {
		if b == "" || len(b) > maxURI {
			return errors.New("bad backend URI")
		}
	}
	for _, a := range r.Addrs {
		if len(a) > maxText {
			return errors.New("address too long")
		}
	}
	for _, g := range r.Guests {
		if g.Name == "" || len(g.Name) > maxText || len(g.UUID) > maxText ||
			len(g.Disks) > MaxGuestDisks || g.DisksMore < 0 {
			return errors.New("bad guest")
		}
		for _, d := range g.Disks {
			if err := d.check(); err != nil {
				return fmt.Errorf("guest %s: %w", agentlog.Clip(g.Name), err)
			}
		}
	}
	if r.Ack != nil {
		if !msgIDRE.MatchString(r.Ack.ID) || !validCmd(r.Ack.Cmd) || len(r.Ack.From) > maxText {
			return errors.New("bad ack")
		}
	}
	return nil
}

// Fence commands.
const (
	CmdOff    = "off"
	CmdReboot = "reboot"
)

func validCmd(s string) bool { return s == CmdOff || s == CmdReboot }

// Message is a fence request left in a host's message slot.
type Message struct {
	ID string `json:"id"`
	To string `json:"to"`
	// Cmd is off or reboot.
	Cmd string `json:"cmd"`
	// Incarnation is the run of the target's daemon this message is for; a
	// daemon ignores messages for other runs (a leftover from before its
	// host rebooted must not make it fence itself again).
	Incarnation uint64 `json:"inc"`
	From        string `json:"from"`
	TimeMs      int64  `json:"time"`
}

// EncodeMessage encodes a fence message.
func EncodeMessage(m *Message) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	return encodeFrame(kindMessage, m, MessageSize)
}

// DecodeMessage decodes and checks a fence message frame.
func DecodeMessage(data []byte) (*Message, error) {
	var m Message
	if err := decodeFrame(data, kindMessage, MessageSize, &m); err != nil {
		return nil, err
	}
	if err := m.check(); err != nil {
		return nil, badFrame("%v", err)
	}
	return &m, nil
}

func (m *Message) check() error {
	switch {
	case !msgIDRE.MatchString(m.ID):
		return fmt.Errorf("message id %q", agentlog.Clip(m.ID))
	case !ValidNodeName(m.To):
		return fmt.Errorf("target %q", agentlog.Clip(m.To))
	case !validCmd(m.Cmd):
		return fmt.Errorf("command %q", agentlog.Clip(m.Cmd))
	case len(m.From) > maxText:
		return errors.New("sender too long")
	}
	return nil
}
