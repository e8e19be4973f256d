// Package macapp lays out Berth.app and puts it in a disk image, on any
// OS.
//
// The bundle: Contents/MacOS/berth-tray (the app's executable, a menu-bar
// app: LSUIElement) and berth next to it, the guest image in
// Contents/Resources/image/<arch> (where berth finds it,
// layout.ImageDirs), the icon set, and the virtualization entitlement
// that `make sign` and codesign on a Mac use. The disk image is a hybrid
// ISO 9660 (Rock Ridge, which keeps the executable bits and symlinks) and
// HFS+ file system written by xorriso: a Mac's DiskImageMounter mounts it
// on a double-click (`hdiutil attach` from a shell), showing Berth.app
// and a link to /Applications to drag it onto.
package macapp

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/installer/layout"
	"github.com/berth-dev/berth/internal/plist"
	"github.com/berth-dev/berth/tray"
)

// App is the bundle's folder name.
const App = "Berth.app"

// Paths inside the bundle.
const (
	InfoPlistPath    = "Contents/Info.plist"
	PkgInfoPath      = "Contents/PkgInfo"
	ExecutablePath   = "Contents/MacOS/berth-tray"
	BerthPath        = "Contents/MacOS/berth"
	IconPath         = "Contents/Resources/Berth.icns"
	EntitlementsPath = "Contents/Resources/berth.entitlements"
	ImagePath        = "Contents/Resources/image"
)

// FileName is the disk image's conventional name.
func FileName(version, arch string) string {
	return fmt.Sprintf("Berth-%s-%s.dmg", version, arch)
}

// InfoPlist is the bundle's Info.plist.
func InfoPlist(version string) (plist.Dict, error) {
	if err := layout.CheckVersion(version); err != nil {
		return nil, err
	}
	return plist.Dict{
		"CFBundleDevelopmentRegion":     "en",
		"CFBundleDisplayName":           layout.Name,
		"CFBundleExecutable":            path.Base(ExecutablePath),
		"CFBundleIconFile":              strings.TrimSuffix(path.Base(IconPath), ".icns"),
		"CFBundleIdentifier":            layout.BundleID,
		"CFBundleInfoDictionaryVersion": "6.0",
		"CFBundleName":                  layout.Name,
		"CFBundlePackageType":           "APPL",
		"CFBundleShortVersionString":    version,
		"CFBundleVersion":               version,
		"LSMinimumSystemVersion":        layout.MinMacOS,
		"LSUIElement":                   true,
		"NSHighResolutionCapable":       true,
		"NSHumanReadableCopyright":      "© " + layout.Vendor,
	}, nil
}

// Entry is one file of the disk image.
type Entry struct {
	Path   string      // slash path from the disk image's root
	Source string      // a file to copy, or
	Data   []byte      // the contents, or
	Link   string      // a symlink's target
	Mode   fs.FileMode // permission bits
}

// Options describe one disk image.
type Options struct {
	Version      string
	Arch         string // amd64 or arm64
	Berth, Tray  string // darwin binaries of Arch
	Entitlements string // hack/darwin/berth.entitlements
	ImageDir     string
	Image        []layout.File
}

// Entries lists the disk image: Berth.app and the /Applications link.
func Entries(o Options) ([]Entry, error) {
	if o.Arch != "amd64" && o.Arch != "arm64" {
		return nil, fmt.Errorf("arch %q: amd64 or arm64", o.Arch)
	}
	info, err := InfoPlist(o.Version)
	if err != nil {
		return nil, err
	}
	infoData, err := plist.Marshal(info)
	if err != nil {
		return nil, err
	}
	in := func(p string) string { return path.Join(App, p) }
	entries := []Entry{
		{Path: "Applications", Link: "/Applications"},
		{Path: in(InfoPlistPath), Data: infoData, Mode: 0o644},
		{Path: in(PkgInfoPath), Data: []byte("APPL????"), Mode: 0o644},
		{Path: in(ExecutablePath), Source: o.Tray, Mode: 0o755},
		{Path: in(BerthPath), Source: o.Berth, Mode: 0o755},
		{Path: in(IconPath), Data: Icns(), Mode: 0o644},
		{Path: in(EntitlementsPath), Source: o.Entitlements, Mode: 0o644},
	}
	for _, f := range layout.ImageFiles("darwin", o.Image) {
		e := Entry{Path: in(path.Join(ImagePath, o.Arch, f.Path)), Mode: f.Mode.Perm() | 0o444}
		if f.Link != "" {
			e.Link, e.Mode = f.Link, 0
		} else {
			e.Source = filepath.Join(o.ImageDir, filepath.FromSlash(f.Path))
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// Icns is the app's icon set: PNGs of 128, 256 and 512 pixels (the
// types ic07, ic08, ic09 hold PNG data).
func Icns() []byte {
	var body bytes.Buffer
	for _, e := range []struct {
		typ  string
		size int
	}{{"ic07", 128}, {"ic08", 256}, {"ic09", 512}} {
		png := tray.AppIconPNG(e.size)
		body.WriteString(e.typ)
		_ = binary.Write(&body, binary.BigEndian, uint32(8+len(png)))
		body.Write(png)
	}
	var b bytes.Buffer
	b.WriteString("icns")
	_ = binary.Write(&b, binary.BigEndian, uint32(8+body.Len()))
	b.Write(body.Bytes())
	return b.Bytes()
}

// Stage writes the entries under dir. Large files are hard-linked when
// they can be (the image is hundreds of megabytes), else copied.
func Stage(dir string, entries []Entry) error {
	for _, e := range entries {
		dst := filepath.Join(dir, filepath.FromSlash(e.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		var err error
		switch {
		case e.Link != "":
			err = os.Symlink(e.Link, dst)
		case e.Source != "":
			err = copyFile(e.Source, dst, e.Mode)
		default:
			err = os.WriteFile(dst, e.Data, e.Mode)
		}
		if err != nil {
			return fmt.Errorf("staging %s: %w", e.Path, err)
		}
	}
	return nil
}

func copyFile(src, dst string, mode fs.FileMode) error {
	if fi, err := os.Stat(src); err == nil && fi.Mode().Perm() == mode {
		if os.Link(src, dst) == nil {
			return nil
		}
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close() //nolint:errcheck
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// XorrisoArgs write the staged folder dir as a hybrid ISO 9660 + Rock
// Ridge + HFS+ image out, volume name Berth.
func XorrisoArgs(dir, out string) []string {
	return []string{"-as", "mkisofs", "-quiet", "-V", layout.Name, "-R", "-hfsplus", "-o", out, dir}
}

// Build stages the bundle in work and writes the disk image out.
func Build(ctx context.Context, o Options, work, out string) error {
	entries, err := Entries(o)
	if err != nil {
		return err
	}
	stage := filepath.Join(work, "dmg")
	if err := Stage(stage, entries); err != nil {
		return err
	}
	if _, err := exec.LookPath("xorriso"); err != nil {
		return fmt.Errorf("xorriso is not installed (hack/deps-dist.txt; make deps-dist installs it): %w", err)
	}
	tmp := out + ".tmp"
	defer os.Remove(tmp) //nolint:errcheck
	if b, err := exec.CommandContext(ctx, "xorriso", XorrisoArgs(stage, tmp)...).CombinedOutput(); err != nil {
		return fmt.Errorf("xorriso: %w\n%s", err, b)
	}
	return os.Rename(tmp, out)
}
