// Command guest-writer runs inside the campaign's tiny guests (PID 1's last step, see
// test/lab/guest.sh): it appends a record to a ring at the start of the guest's disk every
// 100 ms, each with direct I/O and a flush, and prints every acknowledged write on the
// serial console. At boot it reads the ring and prints what it found, so the campaign can
// check that no acknowledged write of an earlier boot was lost (test/campaign).
//
// Console lines (the checker parses them):
//
//	kvmha-writer: RING guest=NAME records=N boots=GEN:MINSEQ-MAXSEQ@MINPOS-MAXPOS,...
//	kvmha-writer: BOOT guest=NAME gen=GEN id=HEX pos=POS
//	ACK GEN SEQ
//	kvmha-writer: ERR GEN SEQ <error>
//
// The guest name and the interval come from the kernel command line:
// kvmha_writer=NAME [kvmha_writer_ms=100].
package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kvmha/kvmha/test/campaign/ring"
)

const disk = "/dev/vda"

func main() {
	name, interval := settings()
	if name == "" {
		fmt.Println("kvmha-writer: no kvmha_writer= on the kernel command line; idle")
		select {}
	}
	fd, err := openDisk()
	if err != nil {
		fmt.Printf("kvmha-writer: %v; idle\n", err)
		select {}
	}
	// Aligned buffers for O_DIRECT: anonymous mappings are page-aligned.
	image, err := unix.Mmap(-1, 0, ring.Size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		fmt.Printf("kvmha-writer: mmap: %v\n", err)
		select {}
	}
	if err := readFull(fd, image); err != nil {
		fmt.Printf("kvmha-writer: reading the ring: %v; idle\n", err)
		select {}
	}
	records := ring.Parse(image)
	var mine []ring.Record
	for _, r := range records {
		if r.Guest == name {
			mine = append(mine, r)
		}
	}
	var boots []string
	for _, b := range ring.Boots(mine) {
		boots = append(boots, fmt.Sprintf("%d:%d-%d@%d-%d", b.Gen, b.MinSeq, b.MaxSeq, b.MinPos, b.MaxPos))
	}
	fmt.Printf("kvmha-writer: RING guest=%s records=%d boots=%s\n", name, len(mine), strings.Join(boots, ","))
	gen, pos := ring.Next(mine)
	var id [16]byte
	_, _ = rand.Read(id[:])
	boot := ring.Record{Gen: gen, BootID: id, Guest: name}
	fmt.Printf("kvmha-writer: BOOT guest=%s gen=%d id=%s pos=%d\n", name, gen, boot.ID(), pos)

	slot := image[:ring.SlotSize]
	tick := time.NewTicker(interval)
	for seq := uint64(1); ; seq++ {
		<-tick.C
		r := boot
		r.Pos, r.Seq, r.Nanos = pos, seq, time.Now().UnixNano()
		if err := r.Encode(slot); err != nil {
			fmt.Printf("kvmha-writer: ERR %d %d %v\n", gen, seq, err)
			continue
		}
		if err := writeSlot(fd, slot, r.Slot()); err != nil {
			// The write may or may not be on disk: it is not acknowledged, and the next
			// record takes the next position either way.
			fmt.Printf("kvmha-writer: ERR %d %d %v\n", gen, seq, err)
		} else {
			fmt.Printf("ACK %d %d\n", gen, seq)
		}
		pos++
	}
}

// settings reads kvmha_writer= and kvmha_writer_ms= from the kernel command line.
func settings() (string, time.Duration) {
	data, _ := os.ReadFile("/proc/cmdline")
	name, interval := "", 100*time.Millisecond
	for _, w := range strings.Fields(string(data)) {
		k, v, _ := strings.Cut(w, "=")
		switch k {
		case "kvmha_writer":
			name = v
		case "kvmha_writer_ms":
			if ms, err := strconv.Atoi(v); err == nil && ms > 0 {
				interval = time.Duration(ms) * time.Millisecond
			}
		}
	}
	return name, interval
}

func openDisk() (int, error) {
	for i := 0; i < 100; i++ {
		fd, err := unix.Open(disk, unix.O_RDWR|unix.O_DIRECT|unix.O_CLOEXEC, 0)
		if err == nil {
			return fd, nil
		}
		if err != syscall.ENOENT && err != syscall.ENXIO {
			return -1, fmt.Errorf("open %s: %w", disk, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return -1, fmt.Errorf("%s did not appear", disk)
}

func readFull(fd int, buf []byte) error {
	for off := 0; off < len(buf); {
		n, err := unix.Pread(fd, buf[off:], int64(off))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("disk smaller than the ring (%d bytes)", off)
		}
		off += n
	}
	return nil
}

// writeSlot writes one slot and flushes it to the disk: acknowledged means durable.
func writeSlot(fd int, slot []byte, index int) error {
	n, err := unix.Pwrite(fd, slot, int64(index)*ring.SlotSize)
	if err != nil {
		return err
	}
	if n != len(slot) {
		return fmt.Errorf("short write (%d bytes)", n)
	}
	return unix.Fdatasync(fd)
}
