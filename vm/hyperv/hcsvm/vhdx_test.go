package hcsvm

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readFixture reads a VHDX that qemu-img made (qemu-img create -f vhdx -o
// subformat=dynamic), kept gzipped.
func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVHDXVirtualSize(t *testing.T) {
	for name, want := range map[string]uint64{"qemu-img-64g.vhdx.gz": 64 << 30, "qemu-img-100g.vhdx.gz": 100 << 30} {
		got, err := VHDXVirtualSize(bytes.NewReader(readFixture(t, name)))
		if err != nil || got != want {
			t.Errorf("%s: %d, %v; want %d", name, got, err, want)
		}
	}
	good := readFixture(t, "qemu-img-64g.vhdx.gz")
	// A torn region table: the copy is read.
	torn := bytes.Clone(good)
	copy(torn[vhdxRegionTable:], "xxxx")
	if got, err := VHDXVirtualSize(bytes.NewReader(torn)); err != nil || got != 64<<30 {
		t.Errorf("a torn first region table: %d, %v", got, err)
	}
	bad := func(name string, change func([]byte) []byte, want string) {
		t.Helper()
		_, err := VHDXVirtualSize(bytes.NewReader(change(bytes.Clone(good))))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	bad("a raw disk", func(b []byte) []byte { return make([]byte, 1<<20) }, "not a VHDX")
	bad("cut short", func(b []byte) []byte { return b[:200<<10] }, "metadata table")
	bad("both tables gone", func(b []byte) []byte {
		copy(b[vhdxRegionTable:], "xxxx")
		copy(b[vhdxRegionTableCopy:], "xxxx")
		return b
	}, `"regi"`)
	bad("a huge entry count", func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[vhdxRegionTable+8:], 1<<30)
		binary.LittleEndian.PutUint32(b[vhdxRegionTableCopy+8:], 1<<30)
		return b
	}, "entries, at most")
}

func TestGUIDLE(t *testing.T) {
	// As [MS-VHDX] gives the metadata region's GUID and as it is stored.
	want := []byte{0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b, 0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e}
	if got := guidLE("8B7CA206-4790-4B9A-B8FE-575F050F886E"); !bytes.Equal(got, want) {
		t.Errorf("guidLE = % x", got)
	}
}
