package initd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// DiskKind is what the start of the data disk holds.
type DiskKind int

const (
	DiskBlank   DiskKind = iota // the first MiB is zeros: a new disk, safe to format
	DiskExt4                    // an ext2/3/4 superblock: check and mount
	DiskUnknown                 // anything else: never formatted
)

func (k DiskKind) String() string {
	switch k {
	case DiskBlank:
		return "blank"
	case DiskExt4:
		return "ext4"
	default:
		return "unknown"
	}
}

const (
	blankProbeSize = 1 << 20
	extMagicOffset = 0x38 // within a superblock
	extMagic       = 0xEF53
)

// DiskClass is the result of ClassifyDisk.
type DiskClass struct {
	Kind DiskKind
	// Detail says what was found, for an exact error message.
	Detail string
	// FSBytes is the ext4 file system's size, from its superblock.
	FSBytes uint64
}

// ClassifyDisk looks at the start of a disk and decides what it holds.
// A disk counts as blank only when its first MiB is zeros and no backup
// ext4 superblock exists where mkfs puts the first one: a file system whose
// start was wiped is damaged, not new, and must not be formatted over.
func ClassifyDisk(r io.ReaderAt) (DiskClass, error) {
	head := make([]byte, blankProbeSize)
	n, err := r.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return DiskClass{}, fmt.Errorf("reading the first MiB: %w", err)
	}
	head = head[:n]
	if n >= 1024+extMagicOffset+2 && binary.LittleEndian.Uint16(head[1024+extMagicOffset:]) == extMagic {
		return DiskClass{Kind: DiskExt4, Detail: "ext2/3/4 superblock at offset 1024", FSBytes: extSize(head[1024:])}, nil
	}
	if !allZero(head) {
		return DiskClass{Kind: DiskUnknown, Detail: describeSignature(head)}, nil
	}
	// Group 1's superblock: block 32768 with 4 KiB blocks, block 8193 with 1 KiB.
	for _, off := range []int64{32768 * 4096, 8193 * 1024} {
		var sb [2]byte
		if _, err := r.ReadAt(sb[:], off+extMagicOffset); err == nil && binary.LittleEndian.Uint16(sb[:]) == extMagic {
			return DiskClass{Kind: DiskUnknown, Detail: fmt.Sprintf(
				"the first MiB is zeros but a backup ext4 superblock sits at byte %d: a damaged file system, not a new disk (repair it with e2fsck -b)", off)}, nil
		}
	}
	return DiskClass{Kind: DiskBlank, Detail: "the first MiB is zeros"}, nil
}

func allZero(b []byte) bool {
	var zero [4096]byte
	for len(b) > 0 {
		k := min(len(b), len(zero))
		if !bytes.Equal(b[:k], zero[:k]) {
			return false
		}
		b = b[k:]
	}
	return true
}

// describeSignature names well-known contents so the error says what the
// disk holds instead of only "unknown".
func describeSignature(b []byte) string {
	has := func(off int, sig string) bool {
		return len(b) >= off+len(sig) && string(b[off:off+len(sig)]) == sig
	}
	switch {
	case has(512, "EFI PART"):
		return "a GPT partition table"
	case has(0, "XFSB"):
		return "an XFS file system"
	case has(0x10040, "_BHRfS_M"):
		return "a btrfs file system"
	case has(0, "LUKS\xba\xbe"):
		return "a LUKS encrypted volume"
	case has(4086, "SWAPSPACE2"):
		return "a swap area"
	case has(0, "hsqs"):
		return "a squashfs image"
	case has(510, "\x55\xaa"):
		return "an MBR partition table or boot sector"
	}
	for i, c := range b {
		if c != 0 {
			return fmt.Sprintf("no known file system signature (first non-zero byte at offset %d: %#02x)", i, c)
		}
	}
	return "zeros"
}

// extSize reads the file system size from an ext2/3/4 superblock.
func extSize(sb []byte) uint64 {
	le := binary.LittleEndian
	blocks := uint64(le.Uint32(sb[0x4:]))
	const incompat64bit = 0x80
	if le.Uint32(sb[0x60:])&incompat64bit != 0 {
		blocks |= uint64(le.Uint32(sb[0x150:])) << 32
	}
	return blocks << (10 + le.Uint32(sb[0x18:]))
}
