package qemu

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/vm"
)

// copyPages writes the data of a sparse file at the same offsets, without
// its holes and without its pages of zeros.
func TestCopyPagesLeavesHolesAndZeros(t *testing.T) {
	dir := t.TempDir()
	src, err := os.Create(filepath.Join(dir, "ram"))
	if err != nil {
		t.Fatal(err)
	}
	const size = 64 << 20
	if err := src.Truncate(size); err != nil {
		t.Fatal(err)
	}
	page := func(b byte) []byte { return bytes.Repeat([]byte{b}, pageSize) }
	// Data at 1 MiB and 40 MiB, a written page of zeros between two
	// data pages, and the rest a hole.
	for off, b := range map[int64][]byte{
		1 << 20:                 page(1),
		1<<20 + pageSize:        page(0),
		1<<20 + 2*pageSize:      page(2),
		40 << 20:                append(page(3), page(4)...),
		size - pageSize:         page(5),
		size - pageSize - 1<<20: {9}, // part of a page
	} {
		if _, err := src.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
	dst, err := os.Create(filepath.Join(dir, "saved"))
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.Truncate(size); err != nil {
		t.Fatal(err)
	}
	n, err := copyPages(dst, src)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(6 * pageSize); n != want {
		t.Errorf("wrote %d bytes, want %d (six non-zero pages)", n, want)
	}
	a, _ := os.ReadFile(src.Name())
	b, _ := os.ReadFile(dst.Name())
	if !bytes.Equal(a, b) {
		t.Fatal("the copy differs from the original")
	}
	var st unix.Stat_t
	if err := unix.Stat(dst.Name(), &st); err != nil {
		t.Fatal(err)
	}
	if got := st.Blocks * 512; got > 1<<20 {
		t.Errorf("the copy allocates %d bytes; its holes were written", got)
	}
}

// A saved VM is restored only for the same boot and an unchanged disk.
func TestCheckSaved(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for _, f := range []string{"qemu", "vmlinuz", "rootfs.img", "data.img"} {
		files[f] = filepath.Join(dir, f)
		writeTestFile(t, files[f], f)
	}
	m := &vm.Machine{Name: "m", Arch: "amd64", CPUs: 2, MemoryMiB: 512, StateDir: dir, Kernel: files["vmlinuz"],
		Disks:   []vm.Disk{{Path: files["rootfs.img"], ReadOnly: true}, {Path: files["data.img"]}},
		Network: vm.Network{Socket: filepath.Join(dir, "net.sock"), MAC: "5a:94:ef:e4:0c:ee"}, SaveKey: "settings-1"}
	d, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	d.binary = files["qemu"]
	data, err := identify(files["data.img"])
	if err != nil {
		t.Fatal(err)
	}
	rec := savedVM{Key: d.keyFor("tcg", ""), Accel: "tcg", Disks: []diskID{data}}
	if rec.Key == "" {
		t.Fatal("no key for a machine with a SaveKey")
	}
	check := func() error {
		b, _ := jsonBytes(rec)
		return d.checkSaved(b, nil, []string{"tcg"})
	}
	if err := check(); err != nil {
		t.Fatalf("the same boot: %v", err)
	}
	if err := d.checkSaved([]byte("{"), nil, []string{"tcg"}); err == nil || !strings.Contains(err.Error(), savedMetaFile) {
		t.Errorf("a broken record: %v", err)
	}
	if err := d.checkSaved(mustJSON(t, rec), nil, []string{"kvm"}); err == nil || !strings.Contains(err.Error(), "ran on tcg") {
		t.Errorf("another accelerator: %v", err)
	}
	for name, change := range map[string]func(){
		"settings": func() { m.SaveKey = "settings-2" },
		"memory":   func() { m.MemoryMiB = 1024 },
		"kernel":   func() { touchLater(t, files["vmlinuz"]) },
		"qemu":     func() { writeTestFile(t, files["qemu"], "a newer qemu") },
	} {
		saved := *m
		change()
		if err := check(); err == nil || !strings.Contains(err.Error(), "changed since it was saved") {
			t.Errorf("%s changed: %v", name, err)
		}
		*m = saved
		writeTestFile(t, files["qemu"], "qemu")
		rec.Key = d.keyFor("tcg", "")
	}
	// The data disk written after the save (its ctime moves even if its
	// times are set back).
	fi, _ := os.Stat(files["data.img"])
	writeTestFile(t, files["data.img"], "data.img")
	_ = os.Chtimes(files["data.img"], fi.ModTime(), fi.ModTime())
	if err := check(); err == nil || !strings.Contains(err.Error(), "data.img changed since the VM was saved") {
		t.Errorf("data disk written after the save: %v", err)
	}
	m.SaveKey = ""
	if d.keyFor("tcg", "") != "" {
		t.Error("a machine without a SaveKey has a key")
	}
}

func writeTestFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func touchLater(t *testing.T, path string) {
	t.Helper()
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := jsonBytes(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonBytes(v any) ([]byte, error) { return json.Marshal(v) }

func TestShareDeviceAdd(t *testing.T) {
	m := &vm.Machine{StateDir: "/s", Shares: []vm.Share{{Tag: "berth0"}, {Tag: "berth1"}}}
	if d := shareDevices(m)[1].qmp(); d["driver"] != "vhost-user-fs-pci" || d["bus"] != "vfsport1" || d["id"] != "vfsdev1" || d["tag"] != "berth1" {
		t.Errorf("device_add of share 1: %v", d)
	}
}
