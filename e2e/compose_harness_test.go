package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/berth-dev/berth/kernel/build"
)

// installCompose puts Debian's docker compose plugin (the image's suite,
// through the host's apt mirror, as the image build fetches packages) into
// the suite's DOCKER_CONFIG/cli-plugins. It fails, never skips: compose
// through Berth's socket is part of what the suite proves.
func (e *env) installCompose(t testing.TB) {
	t.Helper()
	plugin := debFile(t, runtime.GOARCH, "docker-compose", "usr/libexec/docker/cli-plugins/docker-compose")
	dst := filepath.Join(e.dockerCfg, "cli-plugins")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "docker-compose"), plugin, 0o755); err != nil {
		t.Fatal(err)
	}
}

// debFile is the file at path (slashed, relative) in Debian's package pkg
// for arch, from the image's suite, fetched through the host's apt mirror
// as the image build fetches packages (cached in BERTH_CACHE, else
// .cache/image). It fails, never skips.
func debFile(t testing.TB, arch, pkg, path string) []byte {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cache := os.Getenv("BERTH_CACHE")
	if cache == "" {
		cache = filepath.Join(root, ".cache", "image")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	deb, err := build.FetchDeb(ctx, build.Options{Arch: arch, CacheDir: cache}, pkg)
	if err != nil {
		t.Fatalf("fetching Debian's %s package (%s): %v", pkg, arch, err)
	}
	dir := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-x", deb, dir).CombinedOutput(); err != nil {
		t.Fatalf("unpacking %s: %v\n%s", deb, err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(path)))
	if err != nil {
		t.Fatalf("%s holds no /%s: %v", deb, path, err)
	}
	return b
}
