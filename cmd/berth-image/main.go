// Command berth-image builds the guest image (`make image`) or re-pins its
// packages (`make image-lock`). See kernel/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"time"

	"github.com/berth-dev/berth/kernel/build"
)

func main() {
	var (
		arch     = flag.String("arch", runtime.GOARCH, "Debian architecture of the guest (amd64, arm64)")
		initPath = flag.String("init", "", "the guest init binary (becomes /init)")
		out      = flag.String("out", "", "output directory for the image")
		cache    = flag.String("cache", ".cache/image", "cache directory (.debs, apt state, scratch)")
		lock     = flag.Bool("lock", false, "re-resolve kernel/packages.txt and write the lock file, then exit")
		pkgs     = flag.String("packages", "kernel/packages.txt", "package list")
		lockFile = flag.String("lockfile", "", "package lock file (default kernel/packages-ARCH.lock)")
		hostPkgs = flag.String("host-packages", "kernel/host-packages.txt", "package list of the host programs shipped with the image (virtiofsd); empty for none")
		hostLock = flag.String("host-lockfile", "", "lock file of the host programs (default kernel/host-packages-HOSTARCH.lock; with -lock, -ARCH)")
		hostArch = flag.String("host-arch", runtime.GOARCH, "Debian architecture of the host that runs the host programs (virtiofsd)")
		mirror   = flag.String("mirror", os.Getenv(build.MirrorEnv), "Debian mirror URL (default: from the host's apt sources; env "+build.MirrorEnv+")")
		verbose  = flag.Bool("v", false, "log apt commands")
	)
	flag.Parse()
	if *lockFile == "" {
		*lockFile = filepath.Join("kernel", "packages-"+*arch+".lock")
	}
	if *hostLock == "" && *hostPkgs != "" {
		// host-packages-X.lock pins the programs for an X host: -lock
		// re-pins -arch's, a build takes the host's (an image for another
		// architecture still brings a virtiofsd this host runs).
		a := *hostArch
		if *lock {
			a = *arch
		}
		*hostLock = filepath.Join("kernel", "host-packages-"+a+".lock")
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, log, *lock, build.Options{
		Arch: *arch, InitPath: *initPath, OutDir: *out, CacheDir: *cache,
		LockFile: *lockFile, PackagesFile: *pkgs, HostLockFile: *hostLock, HostPackagesFile: *hostPkgs, HostArch: *hostArch,
		Mirror: *mirror, Log: log,
	}); err != nil {
		fmt.Fprintln(os.Stderr, "berth-image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, lock bool, o build.Options) error {
	start := time.Now()
	if lock {
		lists := [][2]string{{o.PackagesFile, o.LockFile}}
		if o.HostLockFile != "" {
			lists = append(lists, [2]string{o.HostPackagesFile, o.HostLockFile})
		}
		for _, l := range lists {
			if _, err := build.WriteLock(ctx, build.LockOptions{
				Arch: o.Arch, PackagesFile: l[0], LockFile: l[1], CacheDir: o.CacheDir, Mirror: o.Mirror, Log: log,
			}); err != nil {
				return err
			}
		}
		return nil
	}
	if o.InitPath == "" || o.OutDir == "" {
		return fmt.Errorf("-init and -out are required (or -lock)")
	}
	res, err := build.Build(ctx, o)
	if err != nil {
		return err
	}
	if res.UpToDate {
		fmt.Printf("guest image %s is up to date (%s)\n", o.OutDir, res.Manifest.Version[:12])
		return nil
	}
	fmt.Printf("guest image %s built in %s (%s, kernel %s)\n", o.OutDir, time.Since(start).Round(time.Second), res.Manifest.Version[:12], res.Manifest.KernelRelease)
	return nil
}
