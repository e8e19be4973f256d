// Package kernel describes the guest image: the artifacts `make image`
// produces and the manifest that records what went into them. The builder
// lives in kernel/build; the host agent only reads what is described here.
package kernel

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Files of one image directory (<dir>/<arch>/...).
const (
	KernelFile    = "vmlinuz"       // the guest kernel, booted directly
	InitramfsFile = "initramfs.img" // /init (the guest init) and the modules needed to find the root disk
	RootfsFile    = "rootfs.img"    // ext4, attached read-only as the first virtio disk
	// WSLRootfsFile is the same root file system as a gzip'd tar for
	// `wsl --import` (Windows), with the guest init in it and a wsl.conf.
	WSLRootfsFile = "wsl-rootfs.tar.gz"
	ManifestFile  = "manifest.json"
	// VirtiofsdDir holds a virtiofsd for the host, with the C library it
	// needs (see HostProgram).
	VirtiofsdDir = "virtiofsd"
)

// Manifest records what an image is made of.
type Manifest struct {
	// Version identifies the image: a digest of its inputs.
	Version string `json:"version"`
	// Arch is the Debian architecture (amd64, arm64).
	Arch string `json:"arch"`
	// Suite is the Debian suite the packages came from.
	Suite string `json:"suite"`
	// KernelRelease is the guest kernel's `uname -r`.
	KernelRelease string `json:"kernelRelease"`
	// Packages maps each package to its exact version.
	Packages map[string]string `json:"packages"`
	// Files maps each artifact file name to its sha256 (hex).
	Files map[string]string `json:"files"`
	// Sizes maps each artifact file name to its size in bytes (the builder's
	// quick up-to-date check).
	Sizes map[string]int64 `json:"sizes,omitempty"`
	// WSLRootfs names the WSL flavour of the guest (WSLRootfsFile) and
	// WSLInit the guest init's path inside it; empty in an image built
	// before there was one.
	WSLRootfs string `json:"wslRootfs,omitempty"`
	WSLInit   string `json:"wslInit,omitempty"`
	// Virtiofsd is the virtiofsd that comes with the image, for a host of
	// the architecture it names (the build host's); nil in an image built
	// without it.
	Virtiofsd *HostProgram `json:"virtiofsd,omitempty"`
}

// HostProgram is a program for the host shipped in the image directory
// with its own C library: it runs as Loader --library-path LibraryPath
// Path, so it does not depend on the host's glibc. Paths are relative to
// the image directory.
type HostProgram struct {
	Path        string `json:"path"`
	Loader      string `json:"loader"`
	LibraryPath string `json:"libraryPath"`
	// Version is what the program printed for --version when the image
	// was built (empty when built on a host of another architecture).
	Version string `json:"version,omitempty"`
	// Arch is the Debian architecture of the host it runs on, which may
	// differ from the guest's (an arm64 guest emulated on an amd64 host);
	// empty in an image built before it was recorded, whose host programs
	// were the guest's architecture.
	Arch string `json:"arch,omitempty"`
}

// HostArch is the architecture of the host the program runs on; guestArch
// stands in for an image that did not record it.
func (p *HostProgram) HostArch(guestArch string) string {
	if p.Arch == "" {
		return guestArch
	}
	return p.Arch
}

// ReadManifest reads dir/manifest.json and checks that the artifacts exist.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("reading guest image manifest (run `make image`): %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	for _, f := range []string{KernelFile, InitramfsFile, RootfsFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return nil, fmt.Errorf("guest image in %s is incomplete: %w", dir, err)
		}
	}
	return &m, nil
}
