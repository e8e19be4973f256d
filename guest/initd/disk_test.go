package initd

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func diskFile(t *testing.T, size int64, writes map[int64][]byte) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "disk.img"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for off, b := range writes {
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func superblock(blocks uint32, logBlockSize uint32) []byte {
	sb := make([]byte, 1024)
	binary.LittleEndian.PutUint32(sb[0x4:], blocks)
	binary.LittleEndian.PutUint32(sb[0x18:], logBlockSize)
	binary.LittleEndian.PutUint16(sb[0x38:], 0xEF53)
	return sb
}

func TestClassifyDisk(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		name   string
		size   int64
		writes map[int64][]byte
		kind   DiskKind
		detail string
	}{
		{"sparse zeros", gib, nil, DiskBlank, "zeros"},
		{"smaller than a MiB", 4096, nil, DiskBlank, "zeros"},
		{"ext4", gib, map[int64][]byte{1024: superblock(262144, 2)}, DiskExt4, "superblock"},
		{"garbage", gib, map[int64][]byte{0: []byte("garbage garbage")}, DiskUnknown, "offset 0"},
		{"garbage after the first KiB", gib, map[int64][]byte{70000: {1}}, DiskUnknown, "offset 70000"},
		{"gpt", gib, map[int64][]byte{512: []byte("EFI PART"), 510: {0x55, 0xaa}}, DiskUnknown, "GPT"},
		{"xfs", gib, map[int64][]byte{0: []byte("XFSB")}, DiskUnknown, "XFS"},
		{"wiped start of an ext4", gib, map[int64][]byte{32768*4096 + 1024 - 1024: superblock(262144, 2)}, DiskUnknown, "backup ext4 superblock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ClassifyDisk(diskFile(t, tt.size, tt.writes))
			if err != nil {
				t.Fatal(err)
			}
			if c.Kind != tt.kind || !strings.Contains(c.Detail, tt.detail) {
				t.Fatalf("got %v %q, want %v containing %q", c.Kind, c.Detail, tt.kind, tt.detail)
			}
		})
	}
}

func TestClassifyDiskFSSize(t *testing.T) {
	c, err := ClassifyDisk(diskFile(t, 1<<30, map[int64][]byte{1024: superblock(262144, 2)}))
	if err != nil {
		t.Fatal(err)
	}
	if c.FSBytes != 1<<30 {
		t.Fatalf("FSBytes = %d, want 1 GiB", c.FSBytes)
	}
}
