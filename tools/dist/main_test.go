package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeTree makes binaries and a tiny guest image in the layout `make
// dist` leaves.
func fakeTree(t *testing.T) options {
	t.Helper()
	dir := t.TempDir()
	o := options{version: "1.2.3", bin: filepath.Join(dir, "bin"), image: filepath.Join(dir, "image"), out: filepath.Join(dir, "dist"),
		arch: "amd64", mtime: time.Unix(1700000000, 0)}
	for _, f := range []string{"bin/linux_amd64/berth", "bin/linux_amd64/berth-tray",
		"image/amd64/manifest.json", "image/amd64/vmlinuz", "image/amd64/initramfs.img", "image/amd64/rootfs.img"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func TestRunDeb(t *testing.T) {
	o := fakeTree(t)
	o.format = "deb"
	out, err := run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil || filepath.Base(out) != "berth_1.2.3_amd64.deb" || !strings.HasPrefix(string(b), "!<arch>\ndebian-binary") {
		t.Fatalf("%s: %v (%d bytes)", out, err, len(b))
	}
	left, _ := filepath.Glob(filepath.Join(o.out, ".work-*"))
	if len(left) != 0 {
		t.Errorf("work folders left: %v", left)
	}
}

func TestRunBadInput(t *testing.T) {
	for _, c := range []struct {
		change func(*options)
		want   string
	}{
		{func(o *options) { o.version = "dev" }, "-version"},
		{func(o *options) { o.arch = "386" }, `arch "386"`},
		{func(o *options) { o.format = "rpm" }, `format "rpm"`},
		{func(o *options) { o.format = "msi" }, "windows/amd64 binary berth"},
		{func(o *options) { o.format = "deb"; o.image = t.TempDir() }, "guest image"},
	} {
		o := fakeTree(t)
		o.format = "deb"
		c.change(&o)
		if _, err := run(context.Background(), o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error with %q, got %v", c.want, err)
		}
	}
}
