package build

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"

	"github.com/berth-dev/berth/kernel"
)

// TestBootImage boots the built image (`make image`) under QEMU with a
// stand-in init (testdata/bootinit) appended as a second initramfs archive,
// the way the host agent appends the guest config. `make test-e2e` runs it
// (BERTH_IMAGE_TEST=1, BERTH_IMAGE_DIR the image it built): a broken image
// fails here with the missing part named, before the engine suite.
func TestBootImage(t *testing.T) {
	console := bootImage(t, "")
	for _, want := range []string{
		"MODULES-OK", "ROOT-OK", "EXISTS /usr/sbin/dockerd",
		"RUN-OK /usr/sbin/dockerd --version", "RUN-OK /usr/bin/containerd --version", "RUN-OK /usr/sbin/runc --version",
		"RUN-OK /usr/sbin/modprobe nf_tables", "RUN-OK /usr/sbin/iptables -L -n", "RUN-OK /usr/sbin/iptables -t nat -L -n",
		"BOOTINIT done",
	} {
		if !strings.Contains(console, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	checkNoFailure(t, console)
}

// TestBootImageEngine also starts dockerd in the booted image (state on
// tmpfs) and asks it for its version: the packages hold everything the
// engine needs at run time, iptables setup included. Slower (~20 s under TCG).
func TestBootImageEngine(t *testing.T) {
	console := bootImage(t, "berth.test=dockerd")
	_, ok, found := strings.Cut(console, "DOCKERD-OK ")
	if !found {
		t.Errorf("dockerd did not answer")
	} else {
		ok, _, _ = strings.Cut(ok, ":")
		t.Logf("dockerd answered %s", ok)
	}
	checkNoFailure(t, console)
}

func checkNoFailure(t *testing.T, console string) {
	t.Helper()
	for _, bad := range []string{"MISSING", "RUN-FAIL", "FAIL ", "Oops", "BUG:", "Kernel panic", "general protection fault"} {
		if strings.Contains(console, bad) {
			t.Errorf("console has %q", bad)
		}
	}
	if t.Failed() {
		t.Logf("console:\n%s", console)
	}
}

// bootImage boots the image with testdata/bootinit as /init and returns the
// console output.
func bootImage(t *testing.T, cmdline string) string {
	t.Helper()
	if os.Getenv("BERTH_IMAGE_TEST") != "1" {
		t.Skip("set BERTH_IMAGE_TEST=1 to boot the guest image")
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("the boot check runs qemu-system-x86_64")
	}
	dir := os.Getenv("BERTH_IMAGE_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "_output", "share", "berth", "image", runtime.GOARCH)
	}
	if _, err := kernel.ReadManifest(dir); err != nil {
		t.Fatalf("BERTH_IMAGE_TEST=1 but no image (make image): %v", err)
	}
	tmp := t.TempDir()
	initBin := filepath.Join(tmp, "bootinit")
	build := exec.Command("go", "build", "-o", initBin, "./testdata/bootinit")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building bootinit: %v\n%s", err, out)
	}
	initrd := filepath.Join(tmp, "initrd")
	if err := appendInit(filepath.Join(dir, kernel.InitramfsFile), initBin, initrd); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", "-M", "q35", "-accel", "tcg", "-cpu", "max", "-m", "1024", "-smp", "1",
		"-nographic", "-no-reboot", "-kernel", filepath.Join(dir, kernel.KernelFile), "-initrd", initrd,
		"-append", strings.TrimSpace("console=ttyS0 panic=-1 quiet "+cmdline),
		"-drive", "if=none,id=root,file="+filepath.Join(dir, kernel.RootfsFile)+",format=raw,readonly=on",
		"-device", "virtio-blk-pci,drive=root")
	out, err := cmd.CombinedOutput()
	t.Logf("boot to power-off took %s", time.Since(start).Round(100*time.Millisecond))
	if err != nil {
		t.Fatalf("qemu: %v\n%s", err, out)
	}
	return string(out)
}

// appendInit writes base followed by a gzip'd cpio archive holding only
// /init: the kernel unpacks both, and the later /init replaces the first.
func appendInit(base, initBin, dst string) error {
	b, err := os.ReadFile(base)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(initBin)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.Write(b)
	zw := gzip.NewWriter(&buf)
	cw := cpio.NewWriter(zw)
	if err := cw.WriteHeader(&cpio.Header{Name: "init", Mode: cpio.TypeReg | 0o755, Size: int64(len(data)), Links: 1}); err != nil {
		return err
	}
	if _, err := cw.Write(data); err != nil {
		return err
	}
	if err := cw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}
