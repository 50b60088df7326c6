// Package ocfs2disk reads the little of an OCFS2 volume that cluster
// management needs: the superblock (UUID, label, block and cluster sizes,
// the cluster stack and name mkfs.ocfs2 recorded) and where the heartbeat
// system file lies, which is what the kernel's O2CB heartbeat region is
// told. It only reads, and only a handful of blocks.
//
// Layout (fs/ocfs2/ocfs2_fs.h): the superblock is an inode at block 2 of the
// volume, for a block size of 512..4096 bytes. Every inode starts with a
// 192-byte header (signature, sizes, flags); its body - superblock fields,
// an extent list or inline data - follows at offset 0xC0. The system
// directory (s_system_dir_blkno) holds the "heartbeat" entry; its entries
// are either inline in its inode or in the blocks its extent list points to.
// All integers are little-endian.
package ocfs2disk

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

const (
	superblockBlkno = 2
	inodeBody       = 0xC0 // start of id2 in an inode
	superSignature  = "OCFSV2"
	inodeSignature  = "INODE01"
	minBlockBits    = 9
	maxBlockBits    = 12
	maxClusterBits  = 20 // 1 MiB clusters
	inlineDataFlag  = 0x0001
	clusterInfoFlag = 0x4000 // OCFS2_FEATURE_INCOMPAT_CLUSTERINFO
	userStackFlag   = 0x0080 // OCFS2_FEATURE_INCOMPAT_USERSPACE_STACK
	globalHBFlag    = 0x01   // OCFS2_CLUSTER_O2CB_GLOBAL_HEARTBEAT in ci_stackflags
	maxDirBlocks    = 64     // the system directory is a few blocks at most
	heartbeatName   = "heartbeat"
	dirEntryHeader  = 12
)

// Volume is what Read learns about a volume.
type Volume struct {
	// UUID in the form O2CB names heartbeat regions: 32 upper-case hex digits.
	UUID  string
	Label string
	// BlockSize and ClusterSize in bytes.
	BlockSize, ClusterSize int
	// ClusterStack ("o2cb", "pcmk", ...) and ClusterName as given to
	// mkfs.ocfs2; empty for volumes made without cluster information.
	ClusterStack, ClusterName string
	// GlobalHeartbeat is set for volumes made with --global-heartbeat.
	GlobalHeartbeat bool
	// HeartbeatBlock and HeartbeatBlocks locate the heartbeat system file, in
	// file system blocks.
	HeartbeatBlock, HeartbeatBlocks uint64
}

// ErrNotOCFS2 is returned (wrapped) when no OCFS2 superblock is found.
var ErrNotOCFS2 = errors.New("not an OCFS2 volume")

// Read reads a volume's superblock and locates its heartbeat file.
func Read(dev io.ReaderAt) (*Volume, error) {
	v, sb, err := readSuperblock(dev)
	if err != nil {
		return nil, err
	}
	sysdir := le64(sb, 0x30)
	blkno, err := lookupSystemFile(dev, v, sysdir, heartbeatName)
	if err != nil {
		return nil, err
	}
	inode, err := readInode(dev, v, blkno)
	if err != nil {
		return nil, fmt.Errorf("heartbeat file: %w", err)
	}
	body := inode[inodeBody:]
	depth, next := le16(body, 0), le16(body, 4)
	if depth != 0 || next != 1 {
		return nil, fmt.Errorf("heartbeat file is not one extent (tree depth %d, %d records)", depth, next)
	}
	rec := body[0x10:]
	clusters := uint64(le16(rec, 4)) // e_leaf_clusters
	v.HeartbeatBlock = le64(rec, 8)
	v.HeartbeatBlocks = clusters * uint64(v.ClusterSize) / uint64(v.BlockSize)
	if v.HeartbeatBlocks == 0 || v.HeartbeatBlock <= superblockBlkno {
		return nil, fmt.Errorf("heartbeat file has a bad extent (block %d, %d clusters)", v.HeartbeatBlock, clusters)
	}
	return v, nil
}

// readSuperblock tries each block size; returns the superblock body too.
func readSuperblock(dev io.ReaderAt) (*Volume, []byte, error) {
	for bits := minBlockBits; bits <= maxBlockBits; bits++ {
		size := 1 << bits
		buf := make([]byte, size)
		if _, err := dev.ReadAt(buf, superblockBlkno*int64(size)); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				continue
			}
			return nil, nil, fmt.Errorf("cannot read the superblock: %w", err)
		}
		if !bytes.HasPrefix(buf, []byte(superSignature)) {
			continue
		}
		sb := buf[inodeBody:]
		if int(le32(sb, 0x38)) != bits {
			continue // an OCFSV2 signature at the wrong place for this size
		}
		cbits := le32(sb, 0x3C)
		if cbits < uint32(bits) || cbits > maxClusterBits {
			return nil, nil, fmt.Errorf("superblock has cluster size bits %d", cbits)
		}
		v := &Volume{
			UUID:        strings.ToUpper(hex.EncodeToString(sb[0x90:0xA0])),
			Label:       cString(sb[0x50:0x90]),
			BlockSize:   size,
			ClusterSize: 1 << cbits,
		}
		incompat := le32(sb, 0x20)
		if incompat&clusterInfoFlag != 0 {
			v.ClusterStack = cString(sb[0xA0:0xA4])
			v.GlobalHeartbeat = sb[0xA4]&globalHBFlag != 0
			v.ClusterName = cString(sb[0xA8:0xB8])
		} else if incompat&userStackFlag != 0 {
			v.ClusterStack, v.ClusterName = cString(sb[0xA0:0xA4]), cString(sb[0xA8:0xB8])
		}
		return v, sb, nil
	}
	return nil, nil, ErrNotOCFS2
}

// readInode reads and checks one inode block.
func readInode(dev io.ReaderAt, v *Volume, blkno uint64) ([]byte, error) {
	buf, err := readBlock(dev, v, blkno)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(buf, []byte(inodeSignature)) {
		return nil, fmt.Errorf("block %d is not an inode", blkno)
	}
	return buf, nil
}

func readBlock(dev io.ReaderAt, v *Volume, blkno uint64) ([]byte, error) {
	if blkno == 0 || blkno > 1<<48 {
		return nil, fmt.Errorf("block number %d is out of range", blkno)
	}
	buf := make([]byte, v.BlockSize)
	if _, err := dev.ReadAt(buf, int64(blkno)*int64(v.BlockSize)); err != nil {
		return nil, fmt.Errorf("cannot read block %d: %w", blkno, err)
	}
	return buf, nil
}

// lookupSystemFile finds name in the system directory.
func lookupSystemFile(dev io.ReaderAt, v *Volume, dirBlkno uint64, name string) (uint64, error) {
	dir, err := readInode(dev, v, dirBlkno)
	if err != nil {
		return 0, fmt.Errorf("system directory: %w", err)
	}
	body := dir[inodeBody:]
	if le16(dir, 0x76)&inlineDataFlag != 0 {
		count := int(le16(body, 0))
		if count > len(body)-8 {
			count = len(body) - 8
		}
		if ino, ok := findEntry(body[8:8+count], name); ok {
			return ino, nil
		}
		return 0, fmt.Errorf("no %s file in the system directory", name)
	}
	if depth := le16(body, 0); depth != 0 {
		return 0, fmt.Errorf("system directory has an extent tree of depth %d", depth)
	}
	count, next := int(le16(body, 2)), int(le16(body, 4))
	maxRecs := (len(body) - 0x10) / 16
	if next > count || next > maxRecs {
		return 0, fmt.Errorf("system directory has %d extents in room for %d", next, min(count, maxRecs))
	}
	perCluster := uint64(v.ClusterSize / v.BlockSize)
	read := 0
	for i := 0; i < next; i++ {
		rec := body[0x10+16*i:]
		start, blocks := le64(rec, 8), uint64(le16(rec, 4))*perCluster
		for b := uint64(0); b < blocks; b++ {
			if read++; read > maxDirBlocks {
				return 0, fmt.Errorf("system directory is larger than %d blocks", maxDirBlocks)
			}
			buf, err := readBlock(dev, v, start+b)
			if err != nil {
				return 0, fmt.Errorf("system directory: %w", err)
			}
			if ino, ok := findEntry(buf, name); ok {
				return ino, nil
			}
		}
	}
	return 0, fmt.Errorf("no %s file in the system directory", name)
}

// findEntry walks ocfs2_dir_entry records: inode (8), rec_len (2),
// name_len (1), file_type (1), name. Unused records have inode 0; the block
// trailer of indexed directories looks like one.
func findEntry(buf []byte, name string) (uint64, bool) {
	for off := 0; off+dirEntryHeader <= len(buf); {
		recLen := int(le16(buf, off+8))
		nameLen := int(buf[off+10])
		if recLen < dirEntryHeader || recLen%4 != 0 || off+recLen > len(buf) || dirEntryHeader+nameLen > recLen {
			return 0, false
		}
		ino := le64(buf, off)
		if ino != 0 && string(buf[off+dirEntryHeader:off+dirEntryHeader+nameLen]) == name {
			return ino, true
		}
		off += recLen
	}
	return 0, false
}

func le16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func le64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }

// cString is a NUL-padded on-disk string, limited to printable ASCII.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, string(b))
}
