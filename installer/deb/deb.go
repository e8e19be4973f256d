// Package deb builds Berth's Debian package with nfpm, as a library:
// /usr/bin/berth and berth-tray, the guest image under
// /usr/share/berth/image/<arch>/ (where /usr/bin/berth finds it,
// layout.ImageDirs), a desktop entry, XDG autostart for the tray and a
// systemd user unit for the engine.
package deb

import (
	"embed"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"

	"github.com/berth-dev/berth/installer/layout"
	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/tray"
)

//go:embed files
var embedded embed.FS

// Where the package puts its own files (besides /usr/bin and the image).
const (
	DesktopFile   = "/usr/share/applications/berth.desktop"
	AutostartFile = "/etc/xdg/autostart/berth-tray.desktop"
	UnitFile      = "/usr/lib/systemd/user/berth.service"
	IconFile      = "/usr/share/icons/hicolor/256x256/apps/berth.png"
	ImageRoot     = "/usr/share/berth/image"
)

// Options describe one package.
type Options struct {
	Version  string // MAJOR.MINOR.PATCH (layout.CheckVersion)
	Arch     string // GOARCH of the binaries and the image: amd64 or arm64
	Berth    string // the linux berth binary
	Tray     string // the linux berth-tray binary
	ImageDir string // the guest image for Arch
	Image    []layout.File
	// Staged holds the package's own files (Stage writes them).
	Staged string
	MTime  time.Time // every file's time, for reproducible packages
}

// FileName is the package's conventional name.
func FileName(version, arch string) string {
	return fmt.Sprintf("berth_%s_%s.deb", version, arch)
}

// Depends are the Debian packages berth runs with on arch: the QEMU
// system emulator for the host's own architecture and qemu-img. virtiofsd
// comes with the guest image (README "Dependencies").
func Depends(arch string) ([]string, error) {
	switch arch {
	case "amd64":
		return []string{"qemu-system-x86", "qemu-utils"}, nil
	case "arm64":
		return []string{"qemu-system-arm", "qemu-utils"}, nil
	}
	return nil, fmt.Errorf("arch %q: the package is built for amd64 or arm64", arch)
}

// staged are the files Stage writes, by destination.
var staged = map[string]string{
	DesktopFile:   "berth.desktop",
	AutostartFile: "berth-tray.desktop",
	UnitFile:      "berth.service",
	IconFile:      "berth.png",
}

// Stage writes the package's own files (desktop entries, unit, icon) into
// dir.
func Stage(dir string) error {
	for _, name := range staged {
		var data []byte
		if name == "berth.png" {
			data = tray.AppIconPNG(256)
		} else {
			var err error
			if data, err = embedded.ReadFile("files/" + name); err != nil {
				return err
			}
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("staging %s: %w", name, err)
		}
	}
	return nil
}

// Info is the nfpm description of the package.
func Info(o Options) (*nfpm.Info, error) {
	if err := layout.CheckVersion(o.Version); err != nil {
		return nil, err
	}
	depends, err := Depends(o.Arch)
	if err != nil {
		return nil, err
	}
	file := func(src, dst string, mode os.FileMode) *files.Content {
		return &files.Content{Source: src, Destination: dst, FileInfo: &files.ContentFileInfo{Mode: mode, MTime: o.MTime, Owner: "root", Group: "root"}}
	}
	contents := files.Contents{
		file(o.Berth, "/usr/bin/berth", 0o755),
		file(o.Tray, "/usr/bin/berth-tray", 0o755),
	}
	for _, dst := range []string{DesktopFile, AutostartFile, UnitFile, IconFile} {
		contents = append(contents, file(filepath.Join(o.Staged, staged[dst]), dst, 0o644))
	}
	imageDir := path.Join(ImageRoot, o.Arch)
	for _, f := range layout.ImageFiles("linux", o.Image) {
		dst := path.Join(imageDir, f.Path)
		if f.Link != "" {
			contents = append(contents, &files.Content{Type: files.TypeSymlink, Source: f.Link, Destination: dst,
				FileInfo: &files.ContentFileInfo{MTime: o.MTime}})
			continue
		}
		contents = append(contents, file(filepath.Join(o.ImageDir, filepath.FromSlash(f.Path)), dst, f.Mode|0o444))
	}
	info := &nfpm.Info{
		Name:        "berth",
		Arch:        o.Arch,
		Platform:    "linux",
		Version:     o.Version,
		Section:     "admin",
		Priority:    "optional",
		Maintainer:  layout.Vendor,
		Description: layout.Summary + "\nBerth boots a small Linux VM with QEMU, runs the Docker engine in it and\nbridges the docker socket, published ports and shared folders to the host.",
		Vendor:      layout.Vendor,
		Homepage:    layout.Homepage,
		MTime:       o.MTime,
		Overridables: nfpm.Overridables{
			Depends:    depends,
			Recommends: []string{"docker-cli | docker.io | docker-ce-cli"},
			Contents:   contents,
			Deb:        nfpm.Deb{Compression: "zstd"},
		},
	}
	info = nfpm.WithDefaults(info)
	return info, nil
}

// Build writes the package to out, atomically.
func Build(o Options, out string) error {
	info, err := Info(o)
	if err != nil {
		return err
	}
	err = atomicfile.Write(out, 0o644, func(w io.Writer) error { return deb.Default.Package(info, w) })
	if err != nil {
		return fmt.Errorf("building %s: %w", filepath.Base(out), err)
	}
	return nil
}
