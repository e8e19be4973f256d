// Command dist packages Berth: the .deb (installer/deb), the MSI
// (installer/msi) and the macOS disk image (installer/macapp), from
// binaries and guest images already built (`make dist` builds them first).
//
// Usage:
//
//	go run ./tools/dist -version 0.1.0 -bin _output/dist/bin -image _output/share/berth/image -out _output/dist deb amd64
//	go run ./tools/dist ... msi amd64
//	go run ./tools/dist ... msi-service amd64   (berth-service, per machine)
//	go run ./tools/dist ... dmg arm64
//
// The binaries are looked for in <bin>/<goos>_<goarch>/. The MSI is
// signed when BERTH_SIGN_CERT and BERTH_SIGN_KEY name a certificate and
// its key (PEM); otherwise it says it is unsigned.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/installer/deb"
	"github.com/berth-dev/berth/installer/layout"
)

type options struct {
	version, bin, image, out string
	license, entitlements    string
	format, arch             string
	mtime                    time.Time
}

func main() {
	var o options
	flag.StringVar(&o.version, "version", "", "the version stamped into every package (MAJOR.MINOR.PATCH)")
	flag.StringVar(&o.bin, "bin", "_output/dist/bin", "directory of the binaries, one <goos>_<goarch> folder per platform")
	flag.StringVar(&o.image, "image", "_output/share/berth/image", "directory of the guest images, one folder per arch")
	flag.StringVar(&o.out, "out", "_output/dist", "where the packages are written")
	flag.StringVar(&o.license, "license", "", "the license text the MSI installs (none when empty)")
	flag.StringVar(&o.entitlements, "entitlements", "hack/darwin/berth.entitlements", "the entitlements plist Berth.app carries for codesign")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: dist [flags] deb|msi|msi-service|dmg amd64|arm64")
		os.Exit(2)
	}
	o.format, o.arch = flag.Arg(0), flag.Arg(1)
	o.mtime = sourceDate()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	out, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
	fmt.Println(out)
}

// sourceDate is $SOURCE_DATE_EPOCH, the reproducible-builds convention,
// else now.
func sourceDate() time.Time {
	var s int64
	if _, err := fmt.Sscan(os.Getenv("SOURCE_DATE_EPOCH"), &s); err == nil {
		return time.Unix(s, 0).UTC()
	}
	return time.Now().UTC().Truncate(time.Second)
}

func run(ctx context.Context, o options) (string, error) {
	if err := layout.CheckVersion(o.version); err != nil {
		return "", fmt.Errorf("-version: %w", err)
	}
	if o.arch != "amd64" && o.arch != "arm64" {
		return "", fmt.Errorf("arch %q: amd64 or arm64", o.arch)
	}
	imageDir := filepath.Join(o.image, o.arch)
	image, err := layout.ScanImage(imageDir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(o.out, ".work-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work) //nolint:errcheck
	bin := func(goos, name string) (string, error) {
		p := filepath.Join(o.bin, goos+"_"+o.arch, layout.Exe(goos, name))
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("the %s/%s binary %s: %w (make dist builds it)", goos, o.arch, name, err)
		}
		return p, nil
	}
	switch o.format {
	case "deb":
		return buildDeb(o, bin, imageDir, image, work)
	case "msi":
		return buildMSI(ctx, o, bin, imageDir, image, work)
	case "msi-service":
		return buildServiceMSI(ctx, o, bin, imageDir, work)
	case "dmg":
		return buildDMG(ctx, o, bin, imageDir, image, work)
	}
	return "", fmt.Errorf("format %q: deb, msi or dmg", o.format)
}

type binFunc func(goos, name string) (string, error)

func buildDeb(o options, bin binFunc, imageDir string, image []layout.File, work string) (string, error) {
	berth, err := bin("linux", "berth")
	if err != nil {
		return "", err
	}
	tray, err := bin("linux", "berth-tray")
	if err != nil {
		return "", err
	}
	if err := deb.Stage(work); err != nil {
		return "", err
	}
	out := filepath.Join(o.out, deb.FileName(o.version, o.arch))
	return out, deb.Build(deb.Options{Version: o.version, Arch: o.arch, Berth: berth, Tray: tray,
		ImageDir: imageDir, Image: image, Staged: work, MTime: o.mtime}, out)
}
