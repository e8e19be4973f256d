package build

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"
)

func TestWriteInitramfs(t *testing.T) {
	mods := []InitramfsFile{{Name: "virtio_blk.ko", Data: []byte("vb")}, {Name: "overlay.ko", Data: []byte("ov")}}
	files := InitramfsContents([]byte("#!init"), mods, nil, nil)
	mtime := time.Unix(1700000000, 0)
	var a, b bytes.Buffer
	if err := WriteInitramfs(&a, files, mtime); err != nil {
		t.Fatal(err)
	}
	if err := WriteInitramfs(&b, files, mtime); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("same input, different archives")
	}
	zr, err := gzip.NewReader(&a)
	if err != nil {
		t.Fatal(err)
	}
	r := cpio.NewReader(zr)
	got := map[string]*cpio.Header{}
	data := map[string]string{}
	var names []string
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		d, _ := io.ReadAll(r)
		got[h.Name], data[h.Name] = h, string(d)
		names = append(names, h.Name)
		if h.Uid != 0 || h.Guid != 0 || !h.ModTime.Equal(mtime) {
			t.Errorf("%s: owner %d:%d time %v", h.Name, h.Uid, h.Guid, h.ModTime)
		}
	}
	if h := got["init"]; h == nil || h.Mode != cpio.TypeReg|0o755 || data["init"] != "#!init" {
		t.Errorf("init: %+v", h)
	}
	if data["modules/order"] != "virtio_blk.ko\noverlay.ko\n" {
		t.Errorf("order = %q", data["modules/order"])
	}
	if data["modules/overlay.ko"] != "ov" || !got["modules"].Mode.IsDir() {
		t.Errorf("modules: %v", names)
	}
	if got["tmp"].Mode&cpio.ModeSticky == 0 {
		t.Error("/tmp not sticky")
	}
	// Directories come before what they hold.
	idx := map[string]int{}
	for i, n := range names {
		idx[n] = i
	}
	if idx["modules"] > idx["modules/order"] {
		t.Errorf("modules dir after its files: %v", names)
	}
}
