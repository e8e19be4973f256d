package macapp

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/installer/layout"
	"github.com/berth-dev/berth/internal/plist"
)

func TestInfoPlist(t *testing.T) {
	d, err := InfoPlist("1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	data, err := plist.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := plist.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{
		"CFBundleExecutable": "berth-tray", "CFBundleIdentifier": "dev.berth.Berth", "CFBundleShortVersionString": "1.2.3",
		"CFBundleVersion": "1.2.3", "LSUIElement": true, "LSMinimumSystemVersion": "13.0", "CFBundlePackageType": "APPL",
		"CFBundleIconFile": "Berth",
	} {
		if back[k] != v {
			t.Errorf("%s = %v, want %v", k, back[k], v)
		}
	}
	if _, err := InfoPlist("dev"); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("version dev: %v", err)
	}
}

func TestEntries(t *testing.T) {
	o := Options{Version: "1.2.3", Arch: "arm64", Berth: "b/berth", Tray: "b/berth-tray", Entitlements: "e.plist", ImageDir: "img",
		Image: []layout.File{{Path: "manifest.json", Mode: 0o644}, {Path: "vmlinuz", Mode: 0o600}, {Path: "virtiofsd/x", Mode: 0o755}, {Path: "wsl-rootfs.tar.gz", Mode: 0o644}}}
	es, err := Entries(o)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Entry{}
	for _, e := range es {
		got[e.Path] = e
	}
	want := []string{"Applications", "Berth.app/Contents/Info.plist", "Berth.app/Contents/PkgInfo", "Berth.app/Contents/MacOS/berth-tray",
		"Berth.app/Contents/MacOS/berth", "Berth.app/Contents/Resources/Berth.icns", "Berth.app/Contents/Resources/berth.entitlements",
		"Berth.app/Contents/Resources/image/arm64/manifest.json", "Berth.app/Contents/Resources/image/arm64/vmlinuz"}
	var paths []string
	for p := range got {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	slices.Sort(want)
	if !slices.Equal(paths, want) {
		t.Errorf("entries %v\nwant %v", paths, want)
	}
	if e := got["Berth.app/Contents/MacOS/berth-tray"]; e.Source != "b/berth-tray" || e.Mode != 0o755 {
		t.Errorf("the executable %+v", e)
	}
	if e := got["Berth.app/Contents/Resources/image/arm64/vmlinuz"]; e.Source != filepath.Join("img", "vmlinuz") || e.Mode != 0o644 {
		t.Errorf("the kernel %+v", e)
	}
	if got["Applications"].Link != "/Applications" {
		t.Error("no /Applications link")
	}
	o.Arch = "386"
	if _, err := Entries(o); err == nil || !strings.Contains(err.Error(), "arch") {
		t.Errorf("arch 386: %v", err)
	}
}

func TestIcns(t *testing.T) {
	b := Icns()
	if string(b[:4]) != "icns" || int(binary.BigEndian.Uint32(b[4:8])) != len(b) {
		t.Fatalf("header %q, length %d of %d", b[:4], binary.BigEndian.Uint32(b[4:8]), len(b))
	}
	sizes := map[string]int{"ic07": 128, "ic08": 256, "ic09": 512}
	for off := 8; off < len(b); {
		typ, n := string(b[off:off+4]), int(binary.BigEndian.Uint32(b[off+4:off+8]))
		img, err := png.Decode(bytes.NewReader(b[off+8 : off+n]))
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if img.Bounds().Dx() != sizes[typ] {
			t.Errorf("%s is %d pixels, want %d", typ, img.Bounds().Dx(), sizes[typ])
		}
		delete(sizes, typ)
		off += n
	}
	if len(sizes) != 0 {
		t.Errorf("missing %v", sizes)
	}
}

func TestStage(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	err := Stage(out, []Entry{{Path: "A.app/x", Source: src, Mode: 0o755}, {Path: "A.app/y", Data: []byte("d"), Mode: 0o644}, {Path: "L", Link: "/Applications"}})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(out, "A.app/x")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("x: %v %v", fi, err)
	}
	if l, err := os.Readlink(filepath.Join(out, "L")); err != nil || l != "/Applications" {
		t.Errorf("L: %q %v", l, err)
	}
	if a := strings.Join(XorrisoArgs("d", "o.dmg"), " "); !strings.Contains(a, "-R -hfsplus") || !strings.HasSuffix(a, "-o o.dmg d") {
		t.Errorf("xorriso %s", a)
	}
}
