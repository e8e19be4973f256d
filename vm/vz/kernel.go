package vz

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// UnpackedKernel is the file in the machine's state directory that holds a
// gzipped kernel unpacked: Virtualization.framework boots only an
// uncompressed arm64 Image (QEMU gunzips one by itself, vz refuses it).
const UnpackedKernel = "vz-kernel"

// maxKernelSize bounds what a gzipped kernel may unpack to (a distro's
// arm64 Image is 30-60 MiB), so a broken or hostile file cannot fill the
// disk.
const maxKernelSize = 256 << 20

// kernelFormat is what the first bytes of a kernel file say it is.
type kernelFormat int

const (
	kernelUnknown kernelFormat = iota
	kernelARM64Image
	kernelBzImage
	kernelGzip
)

func (f kernelFormat) String() string {
	switch f {
	case kernelARM64Image:
		return "an arm64 Image"
	case kernelBzImage:
		return "an x86_64 bzImage"
	case kernelGzip:
		return "a gzip file"
	}
	return "not a kernel vz can boot"
}

// kernelHeaderSize is enough of a file to tell its format: an arm64 Image
// header is 64 bytes, an x86 boot sector 512 plus "HdrS" at 0x202.
const kernelHeaderSize = 0x206

// detectKernel tells the format from a file's first bytes.
//
// arm64 Image: "ARM\x64" at 0x38 (Documentation/arch/arm64/booting.rst).
// x86 bzImage: the boot sector's 0xAA55 at 0x1FE and "HdrS" at 0x202
// (Documentation/arch/x86/boot.rst).
func detectKernel(h []byte) kernelFormat {
	switch {
	case len(h) >= 0x40 && bytes.Equal(h[0x38:0x3c], []byte("ARM\x64")):
		return kernelARM64Image
	case len(h) >= 0x206 && binary.LittleEndian.Uint16(h[0x1fe:]) == 0xaa55 && bytes.Equal(h[0x202:0x206], []byte("HdrS")):
		return kernelBzImage
	case len(h) >= 2 && h[0] == 0x1f && h[1] == 0x8b:
		return kernelGzip
	}
	return kernelUnknown
}

// wantKernel is the format vz boots on a Mac of goarch.
func wantKernel(goarch string) (kernelFormat, error) {
	switch goarch {
	case "arm64":
		return kernelARM64Image, nil
	case "amd64":
		return kernelBzImage, nil
	}
	return kernelUnknown, fmt.Errorf("the vz driver runs on arm64 and amd64 Macs, not %s", goarch)
}

// prepareKernel checks that path is a kernel vz can boot on a Mac of
// goarch and returns the file to boot: path itself, or, for a gzipped
// kernel, its content unpacked into stateDir/UnpackedKernel (replaced
// atomically, so a helper that still runs keeps its old file). Anything
// else is refused, naming the file and what it is.
func prepareKernel(path, stateDir, goarch string) (string, error) {
	want, err := wantKernel(goarch)
	if err != nil {
		return "", err
	}
	got, err := readKernelFormat(path)
	if err != nil {
		return "", err
	}
	switch got {
	case want:
		return path, nil
	case kernelGzip:
		out := filepath.Join(stateDir, UnpackedKernel)
		if err := gunzipKernel(path, out, want, maxKernelSize); err != nil {
			return "", err
		}
		return out, nil
	}
	return "", fmt.Errorf("kernel %s is %s; the vz driver on %s boots %s", path, got, goarch, want)
}

func readKernelFormat(path string) (kernelFormat, error) {
	f, err := os.Open(path)
	if err != nil {
		return kernelUnknown, fmt.Errorf("kernel: %w", err)
	}
	defer f.Close()
	h := make([]byte, kernelHeaderSize)
	n, err := io.ReadFull(f, h)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return kernelUnknown, fmt.Errorf("kernel: reading %s: %w", path, err)
	}
	return detectKernel(h[:n]), nil
}

// gunzipKernel unpacks src into dst and checks that the result is want
// and at most limit bytes; on failure dst is left as it was.
func gunzipKernel(src, dst string, want kernelFormat, limit int64) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("kernel: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("kernel %s: unpacking: %w", src, err)
	}
	err = atomicfile.Write(dst, 0o644, func(w io.Writer) error {
		hw := &headWriter{n: kernelHeaderSize}
		n, err := io.Copy(io.MultiWriter(w, hw), io.LimitReader(zr, limit+1))
		if err != nil {
			return err
		}
		if n > limit {
			return fmt.Errorf("unpacks to more than %d bytes", limit)
		}
		if got := detectKernel(hw.buf); got != want {
			return fmt.Errorf("unpacks to %s, not %s", got, want)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("kernel %s (gzip): %w", src, err)
	}
	return nil
}

// headWriter keeps the first n bytes written to it.
type headWriter struct {
	n   int
	buf []byte
}

func (h *headWriter) Write(p []byte) (int, error) {
	if room := h.n - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// kernelCmdline is cmdline as vz boots it on a Mac of goarch running
// macOS productVersion (as sw_vers -productVersion prints it): the console
// on hvc0 (vz's only console), and nopku on an Intel Mac before macOS
// 15.5, whose hypervisor cannot run a 6.x kernel that uses protection keys
// (PKU).
func kernelCmdline(cmdline, goarch, productVersion string) (string, error) {
	cmdline = appendArg(cmdline, "console=hvc0")
	if goarch != "amd64" {
		return cmdline, nil
	}
	v, err := parseMacOSVersion(productVersion)
	if err != nil {
		return "", err
	}
	if v.less(macOSVersion{15, 5, 0}) {
		cmdline = appendArg(cmdline, "nopku")
	}
	return cmdline, nil
}

// appendArg appends arg to a kernel command line unless it is there.
func appendArg(cmdline, arg string) string {
	args := strings.Fields(cmdline)
	if slices.Contains(args, arg) {
		return strings.Join(args, " ")
	}
	return strings.Join(append(args, arg), " ")
}
