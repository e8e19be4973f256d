package build

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// debCacheDir holds downloaded packages, keyed by file name, for every arch.
func debCacheDir(cacheDir string) string { return filepath.Join(cacheDir, "debs") }

// cachedDeb returns the cached file of p for arch, or "".
func cachedDeb(dir, arch string, p Pin) string {
	for _, a := range []string{arch, "all"} {
		f := filepath.Join(dir, p.DebFileName(a))
		if _, err := os.Stat(f); err == nil {
			return f
		}
	}
	return ""
}

// MissingDebs returns the pins with no cached file.
func MissingDebs(dir, arch string, pins []Pin) []Pin {
	var missing []Pin
	for _, p := range pins {
		if cachedDeb(dir, arch, p) == "" {
			missing = append(missing, p)
		}
	}
	return missing
}

// fetchDebs makes sure every pinned package is in the cache and returns the
// files, in the lock's (name) order. Only missing files are downloaded; a
// download lands in a scratch directory first, so the cache never holds a
// partial file.
func fetchDebs(ctx context.Context, o Options, lock Lock) ([]string, error) {
	dir := debCacheDir(o.CacheDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if missing := MissingDebs(dir, o.Arch, lock.Packages); len(missing) > 0 {
		a, err := newApt(o.Arch, o.CacheDir, o.Mirror, o.AptEtc, o.logger())
		if err != nil {
			return nil, err
		}
		if err := a.update(ctx); err != nil {
			return nil, err
		}
		tmp, err := os.MkdirTemp(dir, "download-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		o.logger().Info("downloading packages", "count", len(missing))
		if err := a.download(ctx, tmp, missing); err != nil {
			return nil, err
		}
		got, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
		for _, f := range got {
			if err := os.Rename(f, filepath.Join(dir, filepath.Base(f))); err != nil {
				return nil, err
			}
		}
	}
	var files []string
	for _, p := range lock.Packages {
		f := cachedDeb(dir, o.Arch, p)
		if f == "" {
			return nil, fmt.Errorf("%s was not downloaded; run `make image-lock` if the mirror no longer has it", p)
		}
		files = append(files, f)
	}
	return files, nil
}

// newApt sets up apt for arch against the mirror: override, or the Debian
// archive named by the apt sources under aptEtc.
func newApt(arch, cacheDir, override, aptEtc string, log *slog.Logger) (*apt, error) {
	if aptEtc == "" {
		aptEtc = "/etc/apt"
	}
	m, err := FindMirror(override, HostSourceFiles(aptEtc))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(m.Keyring); err != nil {
		return nil, fmt.Errorf("archive keyring: %w (install debian-archive-keyring)", err)
	}
	dir, err := filepath.Abs(filepath.Join(cacheDir, "apt", arch))
	if err != nil {
		return nil, err
	}
	return &apt{dir: dir, arch: arch, mirror: m, log: log}, nil
}
