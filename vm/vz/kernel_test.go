package vz

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// arm64Image is the start of an arm64 Image as Linux's head.S lays it out
// (Documentation/arch/arm64/booting.rst), with the EFI stub's "MZ" as a
// distro kernel has it, followed by filler standing for the code.
func arm64Image(size int) []byte {
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b[0x00:], 0xfa405a4d)         // code0: "MZ" + ccmp
	binary.LittleEndian.PutUint32(b[0x04:], 0x14000000|0x3f000) // code1: b primary_entry
	binary.LittleEndian.PutUint64(b[0x08:], 0)                  // text_offset
	binary.LittleEndian.PutUint64(b[0x10:], uint64(size))       // image_size
	binary.LittleEndian.PutUint64(b[0x18:], 0xa)                // flags: LE, 4K pages, anywhere
	copy(b[0x38:], "ARM\x64")                                   // magic
	binary.LittleEndian.PutUint32(b[0x3c:], 0x40)               // PE header offset
	for i := 0x40; i < size; i++ {
		b[i] = byte(i * 7)
	}
	return b
}

// bzImage is the start of an x86 bzImage (Documentation/arch/x86/boot.rst).
func bzImage(size int) []byte {
	b := make([]byte, size)
	copy(b, "MZ")
	b[0x1f1] = 4                                     // setup_sects
	binary.LittleEndian.PutUint16(b[0x1fe:], 0xaa55) // boot_flag
	copy(b[0x202:], "HdrS")                          // header
	binary.LittleEndian.PutUint16(b[0x206:], 0x020f) // protocol version
	return b
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDetectKernel(t *testing.T) {
	elf := append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 0x300)...)
	for _, c := range []struct {
		name string
		b    []byte
		want kernelFormat
	}{
		{"arm64 Image", arm64Image(4096), kernelARM64Image},
		{"arm64 header alone", arm64Image(0x40), kernelARM64Image},
		{"bzImage", bzImage(4096), kernelBzImage},
		{"gzip", gzipped(t, arm64Image(4096)), kernelGzip},
		{"ELF vmlinux", elf, kernelUnknown},
		{"empty", nil, kernelUnknown},
		{"arm64 header cut before the magic", arm64Image(4096)[:0x3a], kernelUnknown},
		{"boot flag without HdrS", bzImage(4096)[:0x200], kernelUnknown},
	} {
		if got := detectKernel(c.b); got != c.want {
			t.Errorf("%s: detectKernel = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPrepareKernelPlain(t *testing.T) {
	dir := t.TempDir()
	img := writeFile(t, dir, "Image", arm64Image(8192))
	bz := writeFile(t, dir, "bzImage", bzImage(8192))
	for _, c := range []struct{ path, goarch string }{{img, "arm64"}, {bz, "amd64"}} {
		got, err := prepareKernel(c.path, dir, c.goarch)
		if err != nil || got != c.path {
			t.Errorf("prepareKernel(%s, %s) = %q, %v; want the file itself", c.path, c.goarch, got, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, UnpackedKernel)); !os.IsNotExist(err) {
		t.Errorf("an uncompressed kernel was copied: %v", err)
	}
}

func TestPrepareKernelGzip(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	img := arm64Image(1 << 20)
	src := writeFile(t, dir, "vmlinuz", gzipped(t, img))
	got, err := prepareKernel(src, state, "arm64")
	if err != nil {
		t.Fatal(err)
	}
	if got != filepath.Join(state, UnpackedKernel) {
		t.Fatalf("prepareKernel = %q, want the unpacked file in the state dir", got)
	}
	b, err := os.ReadFile(got)
	if err != nil || !bytes.Equal(b, img) {
		t.Fatalf("unpacked kernel differs from the original (%d bytes, %v)", len(b), err)
	}
	// Again, over the first: replaced, nothing left behind.
	if _, err := prepareKernel(src, state, "arm64"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(state); len(entries) != 1 {
		t.Errorf("state dir holds %d files, want 1", len(entries))
	}
}

func TestPrepareKernelRefuses(t *testing.T) {
	dir := t.TempDir()
	elf := writeFile(t, dir, "vmlinux", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 4096)...))
	bz := writeFile(t, dir, "bzImage", bzImage(4096))
	img := writeFile(t, dir, "Image", arm64Image(4096))
	gzBz := writeFile(t, dir, "bz.gz", gzipped(t, bzImage(4096)))
	gzJunk := writeFile(t, dir, "junk.gz", gzipped(t, []byte(strings.Repeat("not a kernel ", 100))))
	truncated := gzipped(t, arm64Image(1<<16))
	gzCut := writeFile(t, dir, "cut.gz", truncated[:len(truncated)/2])
	empty := writeFile(t, dir, "empty", nil)
	for _, c := range []struct {
		path, goarch string
		want         []string // in the error
	}{
		{elf, "arm64", []string{elf, "not a kernel vz can boot", "an arm64 Image"}},
		{bz, "arm64", []string{bz, "an x86_64 bzImage", "on arm64 boots an arm64 Image"}},
		{img, "amd64", []string{img, "is an arm64 Image", "on amd64 boots an x86_64 bzImage"}},
		{gzBz, "arm64", []string{gzBz, "unpacks to an x86_64 bzImage"}},
		{gzJunk, "arm64", []string{gzJunk, "unpacks to not a kernel"}},
		{gzCut, "arm64", []string{gzCut, "unexpected EOF"}},
		{empty, "arm64", []string{empty, "not a kernel vz can boot"}},
		{filepath.Join(dir, "missing"), "arm64", []string{"missing"}},
		{img, "riscv64", []string{"riscv64"}},
	} {
		state := t.TempDir()
		got, err := prepareKernel(c.path, state, c.goarch)
		if err == nil {
			t.Errorf("prepareKernel(%s, %s) = %q, want an error", c.path, c.goarch, got)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("prepareKernel(%s, %s): error %q does not say %q", c.path, c.goarch, err, w)
			}
		}
		if entries, _ := os.ReadDir(state); len(entries) != 0 {
			t.Errorf("prepareKernel(%s, %s) left %v in the state dir", c.path, c.goarch, entries)
		}
	}
	if _, err := prepareKernel(filepath.Join(dir, "missing"), t.TempDir(), "arm64"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing kernel: %v, want fs.ErrNotExist", err)
	}
}

func TestGunzipKernelLimit(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "vmlinuz", gzipped(t, arm64Image(64<<10)))
	dst := filepath.Join(dir, "out")
	if err := gunzipKernel(src, dst, kernelARM64Image, 64<<10-1); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("gunzip over the limit: %v, want an error", err)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Fatalf("a kernel over the limit was written: %v", err)
	}
	if err := gunzipKernel(src, dst, kernelARM64Image, 64<<10); err != nil {
		t.Fatalf("gunzip at the limit: %v", err)
	}
}

func TestKernelCmdline(t *testing.T) {
	for _, c := range []struct {
		cmdline, goarch, version, want string
	}{
		{"root=/dev/vda ro", "arm64", "13.0", "root=/dev/vda ro console=hvc0"},
		{"root=/dev/vda ro", "arm64", "14.6.1", "root=/dev/vda ro console=hvc0"},
		{"root=/dev/vda", "amd64", "14.6.1", "root=/dev/vda console=hvc0 nopku"},
		{"root=/dev/vda", "amd64", "15.4.1", "root=/dev/vda console=hvc0 nopku"},
		{"root=/dev/vda", "amd64", "15.5", "root=/dev/vda console=hvc0"},
		{"root=/dev/vda", "amd64", "15.6.1\n", "root=/dev/vda console=hvc0"},
		{"root=/dev/vda", "amd64", "26.0", "root=/dev/vda console=hvc0"},
		{"console=hvc0  nopku quiet", "amd64", "13.7", "console=hvc0 nopku quiet"},
		{"", "arm64", "not read", "console=hvc0"}, // arm64 never needs the version
	} {
		got, err := kernelCmdline(c.cmdline, c.goarch, c.version)
		if err != nil || got != c.want {
			t.Errorf("kernelCmdline(%q, %s, %q) = %q, %v; want %q", c.cmdline, c.goarch, c.version, got, err, c.want)
		}
	}
	if _, err := kernelCmdline("", "amd64", "fifteen"); err == nil || !strings.Contains(err.Error(), `"fifteen"`) {
		t.Errorf("an unreadable macOS version on an Intel Mac: %v, want an error naming it", err)
	}
}
