package disttest

import (
	"bytes"
	"debug/buildinfo"
	"debug/macho"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/installer/macapp"
	"github.com/berth-dev/berth/internal/plist"
)

// TestDMG reads each disk image back: the HFS+ volume a Mac mounts is
// there, and the bundle extracted with xorriso has its layout, an
// Info.plist with the version, Mach-O executables of the image's
// architecture stamped with the version, the guest image and the
// entitlements.
func TestDMG(t *testing.T) {
	dir, version := dist(t)
	for _, c := range []struct {
		arch string
		cpu  macho.Cpu
	}{{"arm64", macho.CpuArm64}, {"amd64", macho.CpuAmd64}} {
		t.Run(c.arch, func(t *testing.T) {
			img := filepath.Join(dir, macapp.FileName(version, c.arch))
			checkHFSPlus(t, img)
			out := filepath.Join(t.TempDir(), "x")
			run(t, 5*time.Minute, nil, "xorriso", "-osirrox", "on", "-indev", img, "-extract", "/", out)
			app := filepath.Join(out, macapp.App)
			if l, err := os.Readlink(filepath.Join(out, "Applications")); err != nil || l != "/Applications" {
				t.Errorf("the Applications link: %q %v", l, err)
			}
			data, err := os.ReadFile(filepath.Join(app, macapp.InfoPlistPath))
			if err != nil {
				t.Fatal(err)
			}
			info, err := plist.Unmarshal(data)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range map[string]any{"CFBundleShortVersionString": version, "CFBundleVersion": version,
				"CFBundleExecutable": "berth-tray", "CFBundleIdentifier": "dev.berth.Berth", "LSUIElement": true,
				"LSMinimumSystemVersion": "13.0"} {
				if info[k] != v {
					t.Errorf("Info.plist %s = %v, want %v", k, info[k], v)
				}
			}
			for _, exe := range []string{macapp.ExecutablePath, macapp.BerthPath} {
				checkMachO(t, filepath.Join(app, exe), c.cpu, version)
			}
			ent, err := os.ReadFile(filepath.Join(app, macapp.EntitlementsPath))
			if err != nil || !strings.Contains(string(ent), "com.apple.security.virtualization") {
				t.Errorf("entitlements: %v\n%s", err, ent)
			}
			if icns, err := os.ReadFile(filepath.Join(app, macapp.IconPath)); err != nil || !bytes.HasPrefix(icns, []byte("icns")) {
				t.Errorf("icon set: %v", err)
			}
			for _, f := range []string{"manifest.json", "vmlinuz", "initramfs.img", "rootfs.img"} {
				if _, err := os.Stat(filepath.Join(app, macapp.ImagePath, c.arch, f)); err != nil {
					t.Errorf("guest image: %v", err)
				}
			}
			for _, f := range []string{"virtiofsd", "wsl-rootfs.tar.gz"} {
				if _, err := os.Stat(filepath.Join(app, macapp.ImagePath, c.arch, f)); err == nil {
					t.Errorf("%s is in the app: it is for another OS", f)
				}
			}
		})
	}
}

// checkMachO: an executable Mach-O of cpu, whose build stamped version.
func checkMachO(t *testing.T, p string, cpu macho.Cpu, version string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("%s is not executable (%v)", p, fi.Mode())
	}
	f, err := macho.Open(p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	defer f.Close()
	if f.Cpu != cpu || f.Type != macho.TypeExec {
		t.Errorf("%s: cpu %v type %v, want %v executable", p, f.Cpu, f.Type, cpu)
	}
	bi, err := buildinfo.ReadFile(p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	for _, s := range bi.Settings {
		if s.Key == "-ldflags" && strings.Contains(s.Value, "-X main.version="+version) {
			return
		}
	}
	t.Errorf("%s was not built with -X main.version=%s: %v", p, version, bi.Settings)
}

// checkHFSPlus finds the Apple partition map's HFS partition and its
// HFS+ volume header ("H+"): what DiskImageMounter mounts on a Mac.
func checkHFSPlus(t *testing.T, img string) {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 512)
	if _, err := io.ReadFull(f, head); err != nil || string(head[:2]) != "ER" {
		t.Fatalf("%s: no Apple partition map (driver descriptor %q, %v)", img, head[:2], err)
	}
	bs := int64(binary.BigEndian.Uint16(head[2:4]))
	entry := make([]byte, 512)
	for i := int64(1); i < 64; i++ {
		if _, err := f.ReadAt(entry, i*bs); err != nil || string(entry[:2]) != "PM" {
			break
		}
		if typ := string(bytes.TrimRight(entry[48:80], "\x00")); typ != "Apple_HFS" {
			continue
		}
		start := int64(binary.BigEndian.Uint32(entry[8:12]))
		sig := make([]byte, 2)
		if _, err := f.ReadAt(sig, start*bs+1024); err != nil {
			t.Fatal(err)
		}
		if string(sig) != "H+" {
			t.Errorf("%s: the Apple_HFS partition has no HFS+ volume header (%q)", img, sig)
		}
		return
	}
	t.Errorf("%s: no Apple_HFS partition in the map", img)
}
