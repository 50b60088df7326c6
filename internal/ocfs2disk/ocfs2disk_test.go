package ocfs2disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// image builds a minimal volume by the layout in the package comment: block
// size 4 KiB, cluster size 4 KiB, the superblock at block 2, the system
// directory at block 6 (inline, or in block 20 when !inline), the heartbeat
// inode at block 10 with one extent of 256 clusters at block 273.
func image(inline bool) []byte {
	const bs = 4096
	img := make([]byte, 21*bs)
	put16 := func(off int, v uint16) { binary.LittleEndian.PutUint16(img[off:], v) }
	put32 := func(off int, v uint32) { binary.LittleEndian.PutUint32(img[off:], v) }
	put64 := func(off int, v uint64) { binary.LittleEndian.PutUint64(img[off:], v) }

	sb := 2 * bs
	copy(img[sb:], superSignature)
	body := sb + inodeBody
	put32(body+0x20, clusterInfoFlag)
	put64(body+0x30, 6) // system directory
	put32(body+0x38, 12)
	put32(body+0x3C, 12)
	copy(img[body+0x50:], "hb1")
	copy(img[body+0x90:], []byte{0xb6, 0xdf, 0x46, 0x1c, 0x55, 0xa9, 0x43, 0xdd, 0x80, 0x67, 0x9b, 0x42, 0x3e, 0xe3, 0xe8, 0xe4})
	copy(img[body+0xA0:], "o2cb")
	img[body+0xA4] = globalHBFlag
	copy(img[body+0xA8:], "lab")

	entries := func(at, size int) {
		put := func(off int, ino uint64, name string, recLen int) int {
			put64(off, ino)
			put16(off+8, uint16(recLen))
			img[off+10] = byte(len(name))
			copy(img[off+12:], name)
			return off + recLen
		}
		off := put(at, 6, ".", 16)
		off = put(off, 0, "deleted", 20)
		off = put(off, 9, "slot_map", 20)
		put(off, 10, heartbeatName, at+size-off)
	}
	dir := 6 * bs
	copy(img[dir:], inodeSignature)
	if inline {
		put16(dir+0x76, inlineDataFlag)
		put16(dir+inodeBody, bs-inodeBody-8)
		entries(dir+inodeBody+8, bs-inodeBody-8)
	} else {
		put16(dir+inodeBody+2, 243) // l_count
		put16(dir+inodeBody+4, 1)   // l_next_free_rec
		rec := dir + inodeBody + 0x10
		put16(rec+4, 1)
		put64(rec+8, 20)
		entries(20*bs, bs)
	}

	hb := 10 * bs
	copy(img[hb:], inodeSignature)
	put16(hb+inodeBody+2, 243)
	put16(hb+inodeBody+4, 1)
	rec := hb + inodeBody + 0x10
	put16(rec+4, 256)
	put64(rec+8, 273)
	return img
}

func TestReadSynthetic(t *testing.T) {
	for _, inline := range []bool{true, false} {
		v, err := Read(bytes.NewReader(image(inline)))
		if err != nil {
			t.Fatalf("inline=%v: %v", inline, err)
		}
		want := Volume{UUID: "B6DF461C55A943DD80679B423EE3E8E4", Label: "hb1", BlockSize: 4096, ClusterSize: 4096,
			ClusterStack: "o2cb", ClusterName: "lab", GlobalHeartbeat: true, HeartbeatBlock: 273, HeartbeatBlocks: 256}
		if *v != want {
			t.Fatalf("inline=%v: got %+v\nwant %+v", inline, *v, want)
		}
	}
}

func TestReadErrors(t *testing.T) {
	if _, err := Read(bytes.NewReader(make([]byte, 64<<10))); !errors.Is(err, ErrNotOCFS2) {
		t.Errorf("zeros: %v", err)
	}
	if _, err := Read(bytes.NewReader(nil)); !errors.Is(err, ErrNotOCFS2) {
		t.Errorf("empty: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func([]byte)
		want string
	}{
		{"no heartbeat entry", func(b []byte) { copy(b[6*4096+inodeBody+8+16+20+20+12:], "xeartbeat") }, "no heartbeat file"},
		{"dir not an inode", func(b []byte) { copy(b[6*4096:], "XXXXXXX") }, "system directory: block 6 is not an inode"},
		{"two extents", func(b []byte) { b[10*4096+inodeBody+4] = 2 }, "not one extent"},
		{"bad cluster bits", func(b []byte) { b[2*4096+inodeBody+0x3C] = 30 }, "cluster size bits 30"},
		{"truncated", nil, "cannot read block 10"},
		{"dir block out of range", func(b []byte) { binary.LittleEndian.PutUint64(b[2*4096+inodeBody+0x30:], 1<<50) }, "out of range"},
	} {
		img := image(true)
		if tc.edit != nil {
			tc.edit(img)
		} else {
			img = img[:10*4096]
		}
		if _, err := Read(bytes.NewReader(img)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestReadMkfsOCFS2: a volume made by the real mkfs.ocfs2 (when installed).
func TestReadMkfsOCFS2(t *testing.T) {
	mkfs, err := exec.LookPath("mkfs.ocfs2")
	if err != nil {
		if _, serr := os.Stat("/sbin/mkfs.ocfs2"); serr != nil {
			t.Skip("mkfs.ocfs2 (ocfs2-tools) is not installed")
		}
		mkfs = "/sbin/mkfs.ocfs2"
	}
	for _, tc := range []struct {
		args   []string
		global bool
		bs     int
	}{
		{[]string{"-b", "4K", "-C", "4K", "--global-heartbeat"}, true, 4096},
		{[]string{"-b", "1K", "-C", "8K"}, false, 1024},
	} {
		img := filepath.Join(t.TempDir(), "vol.img")
		if err := os.WriteFile(img, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(img, 64<<20); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"-q", "-F", "-N", "2", "-L", "vol", "--cluster-stack=o2cb", "--cluster-name=lab"}, tc.args...)
		if out, err := exec.Command(mkfs, append(args, img)...).CombinedOutput(); err != nil {
			t.Fatalf("mkfs.ocfs2 %v: %v\n%s", args, err, out)
		}
		f, err := os.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Read(f)
		f.Close()
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if len(v.UUID) != 32 || v.Label != "vol" || v.BlockSize != tc.bs || v.ClusterStack != "o2cb" ||
			v.ClusterName != "lab" || v.GlobalHeartbeat != tc.global || v.HeartbeatBlocks == 0 || v.HeartbeatBlock == 0 {
			t.Fatalf("%v: %+v", tc.args, *v)
		}
		// debugfs.ocfs2 says where the heartbeat file is, when it is installed
		if dbg, err := exec.LookPath("debugfs.ocfs2"); err == nil {
			out, _ := exec.Command(dbg, "-R", "stat //heartbeat", img).CombinedOutput()
			if !strings.Contains(string(out), " "+itoa(v.HeartbeatBlock)+" ") {
				t.Errorf("%v: debugfs.ocfs2 places the heartbeat elsewhere than block %d:\n%s", tc.args, v.HeartbeatBlock, out)
			}
		}
	}
}

func itoa(n uint64) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(image(true))
	f.Add(image(false))
	f.Add([]byte("OCFSV2"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		if len(v.UUID) != 32 || v.BlockSize < 512 || v.BlockSize > 4096 || v.ClusterSize < v.BlockSize || v.HeartbeatBlocks == 0 {
			t.Fatalf("implausible volume %+v", *v)
		}
	})
}
