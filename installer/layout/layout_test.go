package layout

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCheckVersion(t *testing.T) {
	for _, v := range []string{"0.1.0", "1.2.3", "255.255.65535"} {
		if err := CheckVersion(v); err != nil {
			t.Errorf("CheckVersion(%q) = %v", v, err)
		}
	}
	for _, v := range []string{"", "dev", "1.2", "1.2.3.4", "256.0.0", "0.256.0", "0.0.65536", "1.-2.3", "01.2.3", "v1.2.3", "1.2.3-rc1"} {
		if err := CheckVersion(v); err == nil || !strings.Contains(err.Error(), "version") {
			t.Errorf("CheckVersion(%q) = %v, want an error naming the version", v, err)
		}
	}
}

func TestImageFiles(t *testing.T) {
	all := []File{
		{Path: "initramfs.img"}, {Path: "manifest.json"}, {Path: "rootfs.img"},
		{Path: "virtiofsd/usr/libexec/virtiofsd"}, {Path: "vmlinuz"}, {Path: "wsl-rootfs.tar.gz"},
	}
	paths := func(fs []File) []string {
		var p []string
		for _, f := range fs {
			p = append(p, f.Path)
		}
		return p
	}
	want := map[string][]string{
		"linux":   {"initramfs.img", "manifest.json", "rootfs.img", "virtiofsd/usr/libexec/virtiofsd", "vmlinuz"},
		"windows": {"initramfs.img", "manifest.json", "rootfs.img", "vmlinuz", "wsl-rootfs.tar.gz"},
		"darwin":  {"initramfs.img", "manifest.json", "rootfs.img", "vmlinuz"},
	}
	for goos, w := range want {
		if got := paths(ImageFiles(goos, all)); !slices.Equal(got, w) {
			t.Errorf("ImageFiles(%s) = %v, want %v", goos, got, w)
		}
	}
}

func TestScanImage(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"manifest.json", "vmlinuz", "initramfs.img", "rootfs.img", "virtiofsd/lib/ld.so.2"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("ld.so.2", filepath.Join(dir, "virtiofsd/lib/ld.so")); err != nil {
		t.Fatal(err)
	}
	files, err := ScanImage(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 6 || files[0].Path != "initramfs.img" || files[0].Mode != 0o755 || files[0].Size != int64(len("initramfs.img")) {
		t.Fatalf("ScanImage = %+v", files)
	}
	link := files[3]
	if link.Path != "virtiofsd/lib/ld.so" || link.Link != "ld.so.2" || link.Mode&os.ModeSymlink == 0 {
		t.Errorf("the symlink = %+v", link)
	}
	if err := os.Remove(filepath.Join(dir, "vmlinuz")); err != nil {
		t.Fatal(err)
	}
	if _, err := ScanImage(dir); err == nil || !strings.Contains(err.Error(), "lacks vmlinuz") {
		t.Errorf("ScanImage without a kernel: %v", err)
	}
}

func TestFindImageDir(t *testing.T) {
	app := t.TempDir() // Berth.app/Contents
	exeDir := filepath.Join(app, "MacOS")
	res := filepath.Join(app, "Resources", "image", "arm64")
	if got, want := FindImageDir(exeDir, "arm64"), filepath.Join(app, "share", "berth", "image", "arm64"); got != want {
		t.Errorf("no image anywhere: %s, want the first candidate %s", got, want)
	}
	if err := os.MkdirAll(res, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(res, "manifest.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := FindImageDir(exeDir, "arm64"); got != res {
		t.Errorf("in the app bundle: %s, want %s", got, res)
	}
}

func TestAutostartName(t *testing.T) {
	if AutostartName("darwin") != "dev.berth.tray" || AutostartName("windows") != "Berth" || AutostartName("linux") != "berth-tray" {
		t.Error(AutostartName("darwin"), AutostartName("windows"), AutostartName("linux"))
	}
	if Exe("windows", "berth") != "berth.exe" || Exe("linux", "berth") != "berth" {
		t.Error("Exe")
	}
}
