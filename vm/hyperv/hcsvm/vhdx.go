package hcsvm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/Microsoft/go-winio/pkg/guid"
)

// The VHDX layout read here ([MS-VHDX] 2.2): the file type identifier at
// 0, the region table at 192 KiB (its copy at 256 KiB), the metadata
// region it points to, and in that region's table the virtual disk size
// item.
const (
	vhdxRegionTable      = 192 << 10
	vhdxRegionTableCopy  = 256 << 10
	vhdxMaxRegionEntries = 2047
	vhdxMaxMetaEntries   = 2047
)

// The GUIDs, as stored (the first three fields little-endian).
var (
	vhdxMetadataRegion = guidLE("8B7CA206-4790-4B9A-B8FE-575F050F886E")
	vhdxVirtualSize    = guidLE("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
)

// VHDXVirtualSize reads the size the guest sees of a VHDX disk, in bytes,
// from its metadata; a file that is not a whole VHDX is an error.
func VHDXVirtualSize(r io.ReaderAt) (uint64, error) {
	sig := make([]byte, 8)
	if _, err := r.ReadAt(sig, 0); err != nil {
		return 0, fmt.Errorf("reading the VHDX's file identifier: %w", err)
	}
	if string(sig) != "vhdxfile" {
		return 0, errors.New("not a VHDX file (no \"vhdxfile\" identifier)")
	}
	off, length, err := metadataRegion(r, vhdxRegionTable)
	if err != nil {
		// The copy is there for a table torn by a crash.
		var cerr error
		if off, length, cerr = metadataRegion(r, vhdxRegionTableCopy); cerr != nil {
			return 0, err
		}
	}
	hdr := make([]byte, 32)
	if _, err := r.ReadAt(hdr, int64(off)); err != nil {
		return 0, fmt.Errorf("reading the VHDX metadata table: %w", err)
	}
	if string(hdr[:8]) != "metadata" {
		return 0, errors.New("the VHDX metadata table has no \"metadata\" signature")
	}
	n := int(binary.LittleEndian.Uint16(hdr[10:12]))
	if n > vhdxMaxMetaEntries {
		return 0, fmt.Errorf("the VHDX metadata table says %d entries, at most %d", n, vhdxMaxMetaEntries)
	}
	entries := make([]byte, 32*n)
	if _, err := r.ReadAt(entries, int64(off)+32); err != nil {
		return 0, fmt.Errorf("reading the VHDX metadata entries: %w", err)
	}
	for i := range n {
		e := entries[32*i : 32*i+32]
		if !bytes.Equal(e[:16], vhdxVirtualSize) {
			continue
		}
		itemOff, itemLen := binary.LittleEndian.Uint32(e[16:20]), binary.LittleEndian.Uint32(e[20:24])
		if itemLen != 8 || uint64(itemOff)+8 > uint64(length) {
			return 0, fmt.Errorf("the VHDX virtual size item is %d bytes at %d, outside its %d-byte region", itemLen, itemOff, length)
		}
		b := make([]byte, 8)
		if _, err := r.ReadAt(b, int64(off)+int64(itemOff)); err != nil {
			return 0, fmt.Errorf("reading the VHDX virtual size: %w", err)
		}
		size := binary.LittleEndian.Uint64(b)
		if size == 0 {
			return 0, errors.New("the VHDX virtual size is 0")
		}
		return size, nil
	}
	return 0, errors.New("the VHDX metadata has no virtual size item")
}

// vhdxFileSize is VHDXVirtualSize of the file at path.
func vhdxFileSize(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return VHDXVirtualSize(f)
}

// metadataRegion finds the metadata region in the region table at off.
func metadataRegion(r io.ReaderAt, off int64) (uint64, uint32, error) {
	hdr := make([]byte, 16)
	if _, err := r.ReadAt(hdr, off); err != nil {
		return 0, 0, fmt.Errorf("reading the VHDX region table: %w", err)
	}
	if string(hdr[:4]) != "regi" {
		return 0, 0, errors.New("the VHDX region table has no \"regi\" signature")
	}
	n := binary.LittleEndian.Uint32(hdr[8:12])
	if n > vhdxMaxRegionEntries {
		return 0, 0, fmt.Errorf("the VHDX region table says %d entries, at most %d", n, vhdxMaxRegionEntries)
	}
	entries := make([]byte, 32*int(n))
	if _, err := r.ReadAt(entries, off+16); err != nil {
		return 0, 0, fmt.Errorf("reading the VHDX region entries: %w", err)
	}
	for i := range int(n) {
		e := entries[32*i : 32*i+32]
		if bytes.Equal(e[:16], vhdxMetadataRegion) {
			return binary.LittleEndian.Uint64(e[16:24]), binary.LittleEndian.Uint32(e[24:28]), nil
		}
	}
	return 0, 0, errors.New("the VHDX has no metadata region")
}

// guidLE is a GUID's 16 bytes as Windows stores it (go-winio's layout).
func guidLE(s string) []byte {
	g, err := guid.FromString(s)
	if err != nil {
		panic("bad GUID " + s + ": " + err.Error())
	}
	b := g.ToWindowsArray()
	return b[:]
}
