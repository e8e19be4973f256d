package build

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/berth-dev/berth/kernel"
)

// virtiofsdBinary is where Debian's virtiofsd package installs the daemon.
const virtiofsdBinary = "usr/libexec/virtiofsd"

// virtiofsdPruned are removed from the unpacked host packages: nothing of
// them is needed to run virtiofsd (gconv is iconv's character sets, 8 MB).
var virtiofsdPruned = []string{"etc", "usr/share", "usr/lib/qemu", "usr/lib/*/gconv"}

// unpackVirtiofsd unpacks the host packages (virtiofsd and the C library
// it needs, for a host of arch) into dir, made afresh, and describes how to
// run the daemon from the image directory that will hold dir as
// kernel.VirtiofsdDir.
// The files are the host's, not the guest's: they are unpacked as the
// builder, without fakeroot.
func unpackVirtiofsd(ctx context.Context, debs []string, dir, arch string) (*kernel.HostProgram, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &runner{env: []string{"LC_ALL=C"}}
	for _, d := range debs {
		if err := r.exec(ctx, "dpkg-deb", "-x", d, dir); err != nil {
			return nil, err
		}
	}
	for _, pat := range virtiofsdPruned {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, p := range m {
			if err := os.RemoveAll(p); err != nil {
				return nil, err
			}
		}
	}
	p, err := describeVirtiofsd(dir)
	if err != nil {
		return nil, err
	}
	p.Arch = arch
	if arch == runtime.GOARCH {
		v, err := hostProgramVersion(ctx, dir, p)
		if err != nil {
			return nil, fmt.Errorf("the unpacked virtiofsd does not run: %w", err)
		}
		p.Version = v
	}
	for _, f := range []*string{&p.Path, &p.Loader, &p.LibraryPath} {
		*f = path.Join(kernel.VirtiofsdDir, *f) // the manifest's paths are slashed
	}
	return p, nil
}

// describeVirtiofsd finds the daemon and glibc's dynamic loader in an
// unpacked tree (paths relative to it); the libraries are next to the
// loader.
func describeVirtiofsd(dir string) (*kernel.HostProgram, error) {
	if fi, err := os.Stat(filepath.Join(dir, virtiofsdBinary)); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("the virtiofsd package has no /%s", virtiofsdBinary)
	}
	loaders, _ := filepath.Glob(filepath.Join(dir, "usr/lib/*-linux-gnu*/ld-linux*.so.*"))
	if len(loaders) != 1 {
		return nil, fmt.Errorf("want one glibc loader (usr/lib/*/ld-linux*.so.*) in the host packages, found %d: is libc6 in the host package list?", len(loaders))
	}
	rel, _ := filepath.Rel(dir, loaders[0])
	loader := filepath.ToSlash(rel) // the manifest's paths are slashed on every OS
	return &kernel.HostProgram{Path: virtiofsdBinary, Loader: loader, LibraryPath: path.Dir(loader)}, nil
}

// hostProgramVersion runs p --version, its paths relative to base.
func hostProgramVersion(ctx context.Context, base string, p *kernel.HostProgram) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(base, p.Loader),
		"--library-path", filepath.Join(base, p.LibraryPath), filepath.Join(base, p.Path), "--version")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s --version: %w: %s", p.Path, err, strings.TrimSpace(out.String()))
	}
	return strings.TrimSpace(out.String()), nil
}
