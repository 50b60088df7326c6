package heartbeat

import (
	"testing"
)

// The decoders read slots any host (or a broken disk) may have written:
// whatever the bytes, they return a record or an error, never panic, and a
// record they return encodes again.

func FuzzDecodeRecord(f *testing.F) {
	good, _ := EncodeRecord(testRecord())
	f.Add(good)
	f.Add([]byte{})
	f.Add(make([]byte, 64))
	f.Add([]byte("KVHB\x01B\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRecord(data)
		if err != nil {
			return
		}
		if _, err := EncodeRecord(r); err != nil {
			t.Fatalf("decoded record does not encode: %v", err)
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
