package hcsvm

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The Windows disk maker reads a VHDX's size from the file itself, and a
// resize that virtdisk.dll cannot do (no such disk; Wine's virtdisk) is an
// error that leaves the file as it was.
func TestVirtdiskSizeAndFailedResize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data.vhdx")
	b := readFixture(t, "qemu-img-64g.vhdx.gz")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	d := newDiskMaker()
	if size, err := d.SizeVHDX(path); err != nil || size != 64<<30 {
		t.Fatalf("size %d, %v", size, err)
	}
	if err := d.ResizeVHDX(filepath.Join(dir, "missing.vhdx"), 100); err == nil {
		t.Error("resizing a missing disk worked")
	}
	if err := d.ResizeVHDX(path, 0); err == nil {
		t.Error("a resize to 0 GiB was taken")
	}
	after, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(after, b) {
		t.Errorf("the disk changed after refused resizes: %v", err)
	}
}
