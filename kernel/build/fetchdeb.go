package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// FetchDeb downloads the candidate version of one package of the image's
// suite, for o.Arch, through the same private apt setup as the image (the
// host's mirror, the signed index; nothing of the host's apt state is
// touched), and returns the file, cached under o.CacheDir. It serves tools
// the host needs from the same suite, such as the docker compose plugin of
// the end-to-end suite.
func FetchDeb(ctx context.Context, o Options, name string) (string, error) {
	dir := filepath.Join(debCacheDir(o.CacheDir), "extra")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	a, err := newApt(o.Arch, o.CacheDir, o.Mirror, o.AptEtc, o.logger())
	if err != nil {
		return "", err
	}
	if err := a.update(ctx); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, "download-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if _, err := a.run(ctx, tmp, "download", "--quiet", name); err != nil {
		return "", err
	}
	got, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(got) != 1 {
		return "", fmt.Errorf("apt-get download %s: %d files", name, len(got))
	}
	dst := filepath.Join(dir, filepath.Base(got[0]))
	if err := os.Rename(got[0], dst); err != nil {
		return "", err
	}
	return dst, nil
}
