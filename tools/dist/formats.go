package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/installer/layout"
	"github.com/berth-dev/berth/installer/macapp"
	"github.com/berth-dev/berth/installer/msi"
	"github.com/berth-dev/berth/tray"
)

func buildMSI(ctx context.Context, o options, bin binFunc, imageDir string, image []layout.File, work string) (string, error) {
	if o.arch != "amd64" {
		return "", fmt.Errorf("the MSI is built for amd64 (x64), not %s", o.arch)
	}
	signer, signed, err := msi.SignerFromEnv(os.Getenv)
	if err != nil {
		return "", err
	}
	opts := msi.Options{Version: o.version, License: o.license, ImageDir: imageDir, Image: image,
		Icon: filepath.Join(work, "berth.ico")}
	if err := os.WriteFile(opts.Icon, tray.IconICO(tray.AppIconPNG(tray.IconSize)), 0o644); err != nil {
		return "", err
	}
	// The executables are copied, to be signed before they are packed.
	for _, x := range []struct {
		name string
		dst  *string
	}{{"berth", &opts.Berth}, {"berth-tray", &opts.Tray}} {
		src, err := bin("windows", x.name)
		if err != nil {
			return "", err
		}
		*x.dst = filepath.Join(work, layout.Exe("windows", x.name))
		if err := copyFile(src, *x.dst); err != nil {
			return "", err
		}
		if signed {
			if err := signer.Sign(ctx, *x.dst); err != nil {
				return "", err
			}
		}
	}
	out := filepath.Join(o.out, msi.FileName(o.version))
	if err := msi.Build(ctx, opts, work, out); err != nil {
		return "", err
	}
	if !signed {
		fmt.Fprintln(os.Stderr, "dist: the MSI and its executables are NOT signed (set BERTH_SIGN_CERT and BERTH_SIGN_KEY to sign them)")
		return out, nil
	}
	return out, signer.Sign(ctx, out)
}

// buildServiceMSI is the per-machine package of berth-service (Windows
// containers, the Hyper-V machine), signed as the per-user MSI is.
func buildServiceMSI(ctx context.Context, o options, bin binFunc, imageDir, work string) (string, error) {
	if o.arch != "amd64" {
		return "", fmt.Errorf("the service MSI is built for amd64 (x64), not %s", o.arch)
	}
	signer, signed, err := msi.SignerFromEnv(os.Getenv)
	if err != nil {
		return "", err
	}
	src, err := bin("windows", "berth-service")
	if err != nil {
		return "", err
	}
	opts := msi.ServiceOptions{Version: o.version, License: o.license, ImageDir: imageDir, Service: filepath.Join(work, layout.Exe("windows", "berth-service"))}
	if err := copyFile(src, opts.Service); err != nil {
		return "", err
	}
	if signed {
		if err := signer.Sign(ctx, opts.Service); err != nil {
			return "", err
		}
	}
	out := filepath.Join(o.out, msi.ServiceFileName(o.version))
	if err := msi.BuildService(ctx, opts, work, out); err != nil {
		return "", err
	}
	if !signed {
		fmt.Fprintln(os.Stderr, "dist: the service MSI and berth-service.exe are NOT signed (set BERTH_SIGN_CERT and BERTH_SIGN_KEY to sign them)")
		return out, nil
	}
	return out, signer.Sign(ctx, out)
}

func buildDMG(ctx context.Context, o options, bin binFunc, imageDir string, image []layout.File, work string) (string, error) {
	berth, err := bin("darwin", "berth")
	if err != nil {
		return "", err
	}
	tray, err := bin("darwin", "berth-tray")
	if err != nil {
		return "", err
	}
	out := filepath.Join(o.out, macapp.FileName(o.version, o.arch))
	return out, macapp.Build(ctx, macapp.Options{Version: o.version, Arch: o.arch, Berth: berth, Tray: tray,
		Entitlements: o.entitlements, ImageDir: imageDir, Image: image}, work, out)
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}
