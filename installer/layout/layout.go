// Package layout says what every Berth installer holds and where: the
// product's names, which files of the guest image each OS needs, and where
// an installed berth finds its image. The installers (installer/deb,
// installer/msi, installer/macapp) and `berth install` take their names
// from here, so that an MSI, an app bundle and `berth uninstall` agree on
// what they add and remove.
package layout

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/kernel"
)

const (
	// Name is the product's name as users see it.
	Name = "Berth"
	// Summary is the one-line description of every package.
	Summary = "Run the Docker engine in a lightweight VM"
	// Vendor is the publisher named by the MSI and the .deb.
	Vendor = "The Berth authors"
	// Homepage is the project's page.
	Homepage = "https://github.com/berth-dev/berth"
	// BundleID is the macOS app's CFBundleIdentifier.
	BundleID = "dev.berth.Berth"
	// MinMacOS is the app's LSMinimumSystemVersion: the vz driver needs
	// macOS 13 (README "macOS").
	MinMacOS = "13.0"
)

// AutostartName is the name of the tray's login item on goos, as
// internal/autostart takes it: a launchd label on macOS, a Run value on
// Windows, the XDG autostart file's base name on Linux (the .deb's
// system-wide /etc/xdg/autostart entry has the same name, so a user's own
// entry overrides it).
func AutostartName(goos string) string {
	switch goos {
	case "darwin":
		return "dev.berth.tray"
	case "windows":
		return "Berth"
	default:
		return "berth-tray"
	}
}

// Exe is a program's file name on goos.
func Exe(goos, name string) string {
	if goos == "windows" {
		return name + ".exe"
	}
	return name
}

// CheckVersion accepts the versions every package format takes alike:
// MAJOR.MINOR.PATCH, decimal, as an MSI's ProductVersion requires
// (major and minor at most 255, patch at most 65535).
func CheckVersion(v string) error {
	parts := strings.Split(v, ".")
	limits := []int{255, 255, 65535}
	if len(parts) != 3 {
		return fmt.Errorf("version %q: want MAJOR.MINOR.PATCH (e.g. 0.1.0)", v)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > limits[i] || (len(p) > 1 && p[0] == '0') {
			return fmt.Errorf("version %q: part %d (%q) is not a number from 0 to %d", v, i+1, p, limits[i])
		}
	}
	return nil
}

// File is one file of the guest image, relative to its directory.
type File struct {
	Path string      // slash-separated, relative to the image directory
	Mode fs.FileMode // permission bits; fs.ModeSymlink for a link
	Link string      // a symlink's target
	Size int64
}

// ImageFiles keeps the files of the guest image that an installed berth
// on goos uses: the kernel, initramfs, root file system and manifest
// everywhere; the bundled virtiofsd (a Linux host program) on Linux only;
// the WSL flavour of the root file system on Windows only.
func ImageFiles(goos string, files []File) []File {
	var out []File
	for _, f := range files {
		top, _, _ := strings.Cut(f.Path, "/")
		switch {
		case top == "virtiofsd" && goos != "linux":
		case top == kernel.WSLRootfsFile && goos != "windows":
		default:
			out = append(out, f)
		}
	}
	return out
}

// ScanImage lists the image directory dir: regular files and symlinks,
// sorted. It fails if one of the files every OS boots from is missing.
func ScanImage(dir string) ([]File, error) {
	var files []File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f := File{Path: filepath.ToSlash(rel), Mode: info.Mode().Perm(), Size: info.Size()}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			if f.Link, err = os.Readlink(p); err != nil {
				return err
			}
			f.Mode |= fs.ModeSymlink
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: neither a file nor a symlink", p)
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the guest image: %w", err)
	}
	var missing []string
	for _, want := range []string{kernel.ManifestFile, kernel.KernelFile, kernel.InitramfsFile, kernel.RootfsFile} {
		if !slices.ContainsFunc(files, func(f File) bool { return f.Path == want }) {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the guest image in %s lacks %s (build it with `make image`)", dir, strings.Join(missing, ", "))
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// ImageDirs are the places, in order, where a berth installed in exeDir
// looks for the guest image of arch: <exeDir>/../share/berth/image/<arch>
// (a source build, the .deb's /usr, the MSI's install folder), then
// <exeDir>/../Resources/image/<arch> (Berth.app, where the binaries are
// in Contents/MacOS).
func ImageDirs(exeDir, arch string) []string {
	return []string{
		filepath.Join(exeDir, "..", "share", "berth", "image", arch),
		filepath.Join(exeDir, "..", "Resources", "image", arch),
	}
}

// FindImageDir is the first of ImageDirs that holds an image manifest,
// else the first (whose error then names it).
func FindImageDir(exeDir, arch string) string {
	dirs := ImageDirs(exeDir, arch)
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, kernel.ManifestFile)); err == nil {
			return filepath.Clean(d)
		}
	}
	return filepath.Clean(dirs[0])
}
