package heartbeat

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestQuorum(t *testing.T) {
	for n, want := range map[int][2]int{0: {0, 1}, 1: {1, 1}, 2: {1, 2}, 3: {2, 2}, 4: {3, 2}, 5: {3, 3}} {
		if q, s := Quorum(n), StaleNeeded(n); q != want[0] || s != want[1] {
			t.Errorf("n=%d: quorum %d stale %d, want %v", n, q, s, want)
		}
	}
}

// exerciseBackend runs the contract every backend must keep.
func exerciseBackend(t *testing.T, b Backend) {
	t.Helper()
	ctx := context.Background()
	if err := b.Register(ctx, "node1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Register(ctx, "node2"); err != nil {
		t.Fatal(err)
	}
	if err := b.Register(ctx, "node1"); err != nil {
		t.Fatal("second register:", err)
	}
	if _, err := b.ReadRecord(ctx, "node1"); !errors.Is(err, ErrNotFound) {
		if _, derr := ReadRecordOf(ctx, b, "node1"); !errors.Is(derr, ErrNotFound) {
			t.Fatalf("unwritten record: %v / %v", err, derr)
		}
	}
	r := testRecord()
	for seq := uint64(1); seq <= 3; seq++ {
		r.Seq = seq
		data, _ := EncodeRecord(r)
		if err := b.WriteRecord(ctx, "node1", data); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadRecordOf(ctx, b, "node1")
	if err != nil || got.Seq != 3 {
		t.Fatalf("%+v %v", got, err)
	}
	m := &Message{ID: "0123456789abcdef", To: "node1", Cmd: CmdOff}
	data, _ := EncodeMessage(m)
	if err := b.WriteMessage(ctx, "node1", data); err != nil {
		t.Fatal(err)
	}
	if gm, err := ReadMessageOf(ctx, b, "node1"); err != nil || gm.ID != m.ID {
		t.Fatalf("%+v %v", gm, err)
	}
	if gm, err := ReadMessageOf(ctx, b, "node2"); gm != nil || err != nil {
		t.Fatalf("node2's message: %+v %v", gm, err)
	}
	hosts, err := b.Hosts(ctx)
	if err != nil || !strings.Contains(strings.Join(hosts, " "), "node1") {
		t.Fatalf("hosts %v %v", hosts, err)
	}
	if err := b.WriteRecord(ctx, "bad/name", data); err == nil {
		t.Fatal("wrote under an invalid name")
	}
	if err := b.WriteRecord(ctx, "node1", make([]byte, RecordSize+1)); err == nil {
		t.Fatal("wrote an oversized frame")
	}
	b.Close()
}

func TestFileBackend(t *testing.T) {
	dir := t.TempDir()
	s, _ := ParseBackend("file://" + dir)
	b, _ := OpenLocal(context.Background(), s)
	exerciseBackend(t, b)
	fi, err := os.Stat(filepath.Join(dir, "node1.record"))
	if err != nil || fi.Size() != RecordSize {
		t.Fatalf("record file: %v %v", fi, err)
	}
	os.WriteFile(filepath.Join(dir, "junk.txt"), nil, 0o644)
	os.Mkdir(filepath.Join(dir, "dir.record"), 0o755)
	hosts, _ := b.Hosts(context.Background())
	if strings.Join(hosts, " ") != "node1" {
		t.Fatalf("hosts %v", hosts)
	}
	missing, _ := ParseBackend("file://" + dir + "/missing")
	mb, _ := OpenLocal(context.Background(), missing)
	if err := mb.Register(context.Background(), "node1"); err == nil {
		t.Fatal("registered in a missing directory")
	}
	if _, err := mb.Hosts(context.Background()); err == nil {
		t.Fatal("listed a missing directory")
	}
	notDir, _ := ParseBackend("file://" + dir + "/junk.txt")
	nb, _ := OpenLocal(context.Background(), notDir)
	if err := nb.Register(context.Background(), "node1"); err == nil {
		t.Fatal("registered in a file")
	}
}

func blockImage(t *testing.T, slots int) Spec {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hb.img")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, DeviceSize(slots)); err != nil {
		t.Fatal(err)
	}
	s, _ := ParseBackend("block://" + path)
	return s
}

func TestBlockBackend(t *testing.T) {
	s := blockImage(t, 4)
	b, _ := OpenLocal(context.Background(), s)
	if err := b.Register(context.Background(), "node1"); err == nil || !strings.Contains(err.Error(), "not formatted") {
		t.Fatalf("unformatted: %v", err)
	}
	if err := FormatDevice(s, 4); err != nil {
		t.Fatal(err)
	}
	b, _ = OpenLocal(context.Background(), s)
	exerciseBackend(t, b)
	// Another host's view finds the slots the first one claimed.
	other := newBlockBackend(s)
	if hosts, err := other.Hosts(context.Background()); err != nil || strings.Join(hosts, " ") != "node1 node2" {
		t.Fatalf("%v %v", hosts, err)
	}
	if _, err := ReadRecordOf(context.Background(), other, "node1"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.ReadRecord(context.Background(), "node9"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown node: %v", err)
	}
	// Full device.
	for _, n := range []string{"node3", "node4"} {
		if err := other.Register(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.Register(context.Background(), "node5"); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Fatalf("full: %v", err)
	}
	if err := other.Register(context.Background(), "a/b"); err == nil {
		t.Fatal("bad name registered")
	}
}

func TestBlockClaimRace(t *testing.T) {
	s := blockImage(t, 3)
	if err := FormatDevice(s, 3); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, n := range []string{"a", "b", "c"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = newBlockBackend(s).Register(context.Background(), n)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	hosts, _ := newBlockBackend(s).Hosts(context.Background())
	if strings.Join(hosts, " ") != "a b c" && len(hosts) != 3 {
		t.Fatalf("hosts after a race: %v", hosts)
	}
}

func TestFormatDevice(t *testing.T) {
	s := blockImage(t, 2)
	if err := FormatDevice(s, 3); err == nil {
		t.Fatal("formatted a device too small")
	}
	if err := FormatDevice(s, 0); err == nil {
		t.Fatal("0 slots")
	}
	f, _ := ParseBackend("file:///tmp")
	if err := FormatDevice(f, 1); err == nil {
		t.Fatal("formatted a file backend")
	}
	missing, _ := ParseBackend("block:///nonexistent/dev")
	if err := FormatDevice(missing, 1); err == nil {
		t.Fatal("formatted nothing")
	}
	// A corrupt header.
	if err := os.WriteFile(s.Path, []byte("garbage garbage garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Truncate(s.Path, DeviceSize(2))
	if _, err := newBlockBackend(s).Hosts(context.Background()); err == nil || !strings.Contains(err.Error(), "header") {
		t.Fatalf("corrupt header: %v", err)
	}
	// A header with an absurd slot count.
	hdr, _ := encodeFrame(kindDevice, deviceHeader{Slots: 1000}, blockHeaderSize)
	os.WriteFile(s.Path, hdr, 0o600)
	os.Truncate(s.Path, DeviceSize(2))
	if _, err := newBlockBackend(s).Hosts(context.Background()); err == nil {
		t.Fatal("1000 slots accepted")
	}
	// Formatted for more slots than the device holds (truncated later).
	FormatDevice(s, 2)
	os.Truncate(s.Path, blockHeaderSize+ownerSize)
	if _, err := newBlockBackend(s).Hosts(context.Background()); err == nil || !strings.Contains(err.Error(), "short read") {
		t.Fatalf("truncated: %v", err)
	}
}
