package heartbeat

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/agentlog"
)

func testRecord() *Record {
	return &Record{
		Node: "node1", Boot: "b1", Incarnation: 7, Seq: 42, TimeMs: 1700000000000,
		IntervalMs: 1000, TimeoutMs: 5000, WatchdogMs: 5000, State: StateRunning,
		Backends: []string{"rados://rbd/hb", "file:///srv/hb"}, BackendsOK: 2,
		Addrs:  []string{"10.0.0.1:0/1234"},
		Guests: []Guest{{Name: "vm1", UUID: "u1", IO: &GuestIO{RdReqs: 1, WrReqs: 2, Moving: true}}},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	r := testRecord()
	r.Ack = &Ack{ID: "0123456789abcdef", Cmd: CmdOff, From: "node2"}
	r.State = StateFencing
	data, err := EncodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	// Slots are zero-padded: trailing zeros must not matter.
	padded := append(append([]byte(nil), data...), make([]byte, 100)...)
	got, err := DecodeRecord(padded)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(*got.Ack) != fmt.Sprint(*r.Ack) || got.Seq != 42 || got.Guests[0].IO.WrReqs != 2 || !got.Guests[0].IO.Moving {
		t.Fatalf("round trip: %+v", got)
	}
	if got.Interval().Seconds() != 1 || got.Timeout().Seconds() != 5 || got.Watchdog().Seconds() != 5 || got.Time().UnixMilli() != r.TimeMs {
		t.Fatal("durations or time")
	}
}

func TestRecordNewer(t *testing.T) {
	a := &Record{Incarnation: 1, Seq: 5}
	if !a.Newer(nil) || !(&Record{Incarnation: 2, Seq: 1}).Newer(a) || !(&Record{Incarnation: 1, Seq: 6}).Newer(a) || a.Newer(a) {
		t.Fatal("Newer")
	}
}

func TestEncodeRecordTruncatesGuests(t *testing.T) {
	r := testRecord()
	r.Guests = nil
	for i := 0; i < 2000; i++ {
		r.Guests = append(r.Guests, Guest{Name: fmt.Sprintf("guest-with-a-long-name-%04d", i), UUID: strings.Repeat("u", 36)})
	}
	data, err := EncodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > RecordSize {
		t.Fatalf("%d bytes", len(data))
	}
	got, err := DecodeRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Guests)+got.GuestsMore != 2000 || got.GuestsMore == 0 {
		t.Fatalf("%d guests + %d more", len(got.Guests), got.GuestsMore)
	}
	// Too big without guests to drop.
	r.Guests = nil
	r.Addrs = nil
	for i := 0; i < 16; i++ {
		r.Backends = append(r.Backends, "file:///"+strings.Repeat("x", 500)+fmt.Sprint(i))
	}
	r.Backends = r.Backends[:16]
	if _, err := EncodeRecord(r); err != nil {
		t.Fatalf("16 long backends should fit: %v", err)
	}
}

func frameWith(t *testing.T, kind byte, payload []byte) []byte {
	t.Helper()
	out := make([]byte, headerSize+len(payload))
	copy(out, frameMagic)
	out[4], out[5] = frameVersion, kind
	binary.BigEndian.PutUint32(out[8:], uint32(len(payload)))
	binary.BigEndian.PutUint32(out[12:], crcOf(payload))
	copy(out[headerSize:], payload)
	return out
}

func crcOf(b []byte) uint32 { return crc32.Checksum(b, crcTable) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecodeRecordRejects(t *testing.T) {
	good, _ := EncodeRecord(testRecord())
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	cases := map[string][]byte{
		"short":       []byte("KVHB"),
		"magic":       mutate(func(b []byte) { b[0] = 'X' }),
		"version":     mutate(func(b []byte) { b[4] = 9 }),
		"kind":        mutate(func(b []byte) { b[5] = kindMessage }),
		"length":      mutate(func(b []byte) { binary.BigEndian.PutUint32(b[8:], 1<<30) }),
		"crc":         mutate(func(b []byte) { b[len(b)-2] ^= 1 }),
		"json":        frameWith(t, kindRecord, []byte("{")),
		"node":        frameWith(t, kindRecord, []byte(`{"node":"a/b","interval_ms":1,"timeout_ms":1,"state":"running","backends":["x"]}`)),
		"interval":    frameWith(t, kindRecord, []byte(`{"node":"a","interval_ms":0,"timeout_ms":1,"state":"running","backends":["x"]}`)),
		"timeout":     frameWith(t, kindRecord, []byte(`{"node":"a","interval_ms":1,"timeout_ms":-1,"state":"running","backends":["x"]}`)),
		"watchdog":    frameWith(t, kindRecord, []byte(`{"node":"a","interval_ms":1,"timeout_ms":1,"watchdog_ms":-5,"state":"running","backends":["x"]}`)),
		"state":       frameWith(t, kindRecord, []byte(`{"node":"a","interval_ms":1,"timeout_ms":1,"state":"odd","backends":["x"]}`)),
		"no backends": frameWith(t, kindRecord, []byte(`{"node":"a","interval_ms":1,"timeout_ms":1,"state":"running","backends":[]}`)),
		"empty uri":   frameWith(t, kindRecord, []byte(`{"node":"a","interval_ms":1,"timeout_ms":1,"state":"running","backends":[""]}`)),
		"ok count":    frameWith(t, kindRecord, []byte(`{"node":"a","interval_ms":1,"timeout_ms":1,"state":"running","backends":["x"],"backends_ok":2}`)),
		"guest":       frameWith(t, kindRecord, []byte(`{"node":"a","interval_ms":1,"timeout_ms":1,"state":"running","backends":["x"],"guests":[{"name":""}]}`)),
		"more":        frameWith(t, kindRecord, []byte(`{"node":"a","interval_ms":1,"timeout_ms":1,"state":"running","backends":["x"],"guests_more":-1}`)),
		"ack":         frameWith(t, kindRecord, []byte(`{"node":"a","interval_ms":1,"timeout_ms":1,"state":"fencing","backends":["x"],"ack":{"id":"zz","cmd":"off"}}`)),
		"boot":        frameWith(t, kindRecord, []byte(`{"node":"a","boot":"`+strings.Repeat("b", 65)+`","interval_ms":1,"timeout_ms":1,"state":"running","backends":["x"]}`)),
		"addr":        frameWith(t, kindRecord, []byte(`{"node":"a","interval_ms":1,"timeout_ms":1,"state":"running","backends":["x"],"addrs":["`+strings.Repeat("a", 300)+`"]}`)),
	}
	for name, data := range cases {
		if _, err := DecodeRecord(data); !errors.Is(err, ErrBadFrame) {
			t.Errorf("%s: got %v, want a bad frame", name, err)
		}
	}
	if _, err := DecodeRecord(make([]byte, RecordSize)); !errors.Is(err, ErrEmpty) {
		t.Errorf("zeros: %v", err)
	}
	if _, err := DecodeRecord(make([]byte, 3)); !errors.Is(err, ErrEmpty) {
		t.Errorf("short zeros: %v", err)
	}
	if _, err := EncodeRecord(&Record{Node: "x"}); err == nil {
		t.Error("encoded an invalid record")
	}
}

func TestMessageRoundTrip(t *testing.T) {
	m := &Message{ID: "0123456789abcdef", To: "node2", Cmd: CmdReboot, Incarnation: 9, From: "node1", TimeMs: 5}
	data, err := EncodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeMessage(data)
	if err != nil || *got != *m {
		t.Fatalf("%+v %v", got, err)
	}
	for name, bad := range map[string]*Message{
		"id":   {ID: "x", To: "n", Cmd: CmdOff},
		"to":   {ID: "0123456789abcdef", To: "", Cmd: CmdOff},
		"cmd":  {ID: "0123456789abcdef", To: "n", Cmd: "on"},
		"from": {ID: "0123456789abcdef", To: "n", Cmd: CmdOff, From: strings.Repeat("f", 300)},
	} {
		if _, err := EncodeMessage(bad); err == nil {
			t.Errorf("%s: encoded", name)
		}
		if _, err := DecodeMessage(frameWith(t, kindMessage, mustJSON(bad))); !errors.Is(err, ErrBadFrame) {
			t.Errorf("%s: decoded: %v", name, err)
		}
	}
	if _, err := DecodeMessage(data[:10]); err == nil {
		t.Error("decoded a short message")
	}
}

func TestValidNodeName(t *testing.T) {
	for _, ok := range []string{"node1", "n", "a.b-c_d", strings.Repeat("a", 64)} {
		if !ValidNodeName(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "-a", "a/b", "a b", strings.Repeat("a", 65), "..", "é"} {
		if ValidNodeName(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
	if !bytes.Contains([]byte(agentlog.Clip(strings.Repeat("x", 100))), []byte("...")) {
		t.Error("clip")
	}
}
