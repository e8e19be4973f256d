package deb

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goreleaser/nfpm/v2/files"

	"github.com/berth-dev/berth/installer/layout"
)

func testOptions(t *testing.T) Options {
	return Options{
		Version: "1.2.3", Arch: "arm64", Berth: "/b/berth", Tray: "/b/berth-tray", ImageDir: "/img/arm64", Staged: "/stage",
		MTime: time.Unix(1700000000, 0),
		Image: []layout.File{
			{Path: "manifest.json", Mode: 0o644}, {Path: "vmlinuz", Mode: 0o600}, {Path: "wsl-rootfs.tar.gz", Mode: 0o644},
			{Path: "virtiofsd/lib/ld.so", Link: "ld.so.2", Mode: os.ModeSymlink | 0o777},
			{Path: "virtiofsd/lib/ld.so.2", Mode: 0o755},
		},
	}
}

func TestInfo(t *testing.T) {
	info, err := Info(testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "berth" || info.Arch != "arm64" || info.Version != "1.2.3" || info.Deb.Compression != "zstd" {
		t.Errorf("info = %s %s %s %s", info.Name, info.Arch, info.Version, info.Deb.Compression)
	}
	if !slices.Equal(info.Depends, []string{"qemu-system-arm", "qemu-utils"}) {
		t.Errorf("depends = %v", info.Depends)
	}
	got := map[string]*files.Content{}
	for _, c := range info.Contents {
		got[c.Destination] = c
	}
	want := map[string]string{ // destination: source
		"/usr/bin/berth":      "/b/berth",
		"/usr/bin/berth-tray": "/b/berth-tray",
		DesktopFile:           "/stage/berth.desktop",
		AutostartFile:         "/stage/berth-tray.desktop",
		UnitFile:              "/stage/berth.service",
		IconFile:              "/stage/berth.png",
		"/usr/share/berth/image/arm64/manifest.json":         "/img/arm64/manifest.json",
		"/usr/share/berth/image/arm64/vmlinuz":               "/img/arm64/vmlinuz",
		"/usr/share/berth/image/arm64/virtiofsd/lib/ld.so.2": "/img/arm64/virtiofsd/lib/ld.so.2",
		"/usr/share/berth/image/arm64/virtiofsd/lib/ld.so":   "ld.so.2",
	}
	for dst, src := range want {
		c := got[dst]
		if c == nil || c.Source != src {
			t.Errorf("%s: %+v, want from %s", dst, c, src)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d files, want %d (the WSL root file system stays out): %v", len(got), len(want), info.Contents)
	}
	if c := got["/usr/share/berth/image/arm64/virtiofsd/lib/ld.so"]; c.Type != files.TypeSymlink {
		t.Errorf("the symlink is a %q", c.Type)
	}
	if m := got["/usr/bin/berth"].FileInfo.Mode; m != 0o755 {
		t.Errorf("berth's mode %v", m)
	}
	if m := got["/usr/share/berth/image/arm64/vmlinuz"].FileInfo.Mode; m != 0o644 {
		t.Errorf("an owner-only image file must be readable by every user once installed: %v", m)
	}
}

func TestInfoBadInput(t *testing.T) {
	o := testOptions(t)
	o.Version = "dev"
	if _, err := Info(o); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("version dev: %v", err)
	}
	o = testOptions(t)
	o.Arch = "riscv64"
	if _, err := Info(o); err == nil || !strings.Contains(err.Error(), "arch") {
		t.Errorf("arch riscv64: %v", err)
	}
	if d, _ := Depends("amd64"); !slices.Equal(d, []string{"qemu-system-x86", "qemu-utils"}) {
		t.Errorf("amd64 depends = %v", d)
	}
}

func TestStage(t *testing.T) {
	dir := t.TempDir()
	if err := Stage(dir); err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile(filepath.Join(dir, "berth.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ExecStart=/usr/bin/berth start", "ExecStop=/usr/bin/berth stop", "WantedBy=default.target"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	png, err := os.ReadFile(filepath.Join(dir, "berth.png"))
	if err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Errorf("icon: %v", err)
	}
	if FileName("1.2.3", "amd64") != "berth_1.2.3_amd64.deb" {
		t.Error(FileName("1.2.3", "amd64"))
	}
}
