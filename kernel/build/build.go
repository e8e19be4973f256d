// Package build makes the guest image: it resolves and pins Debian packages
// (WriteLock), and builds the kernel, initramfs and root filesystem from the
// pinned packages (Build). See kernel/README.md.
package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/kernel"
)

// BuilderVersion is part of every image's version: bump it when a change to
// the builder changes what it produces from the same packages.
const BuilderVersion = "5"

// Options configure Build.
type Options struct {
	Arch     string // Debian architecture: amd64, arm64
	InitPath string // the guest init binary, becomes /init
	OutDir   string // receives kernel.KernelFile, ... and the manifest
	CacheDir string // .deb cache, apt state and scratch space
	LockFile string // packages-<arch>.lock
	// PackagesFile, when set, is the package list (packages.txt) the lock
	// must have been made from; a build with a stale lock fails.
	PackagesFile string
	// HostLockFile pins the host packages (host-packages-<host arch>.lock:
	// virtiofsd and its C library), unpacked into kernel.VirtiofsdDir;
	// empty builds an image without them. HostPackagesFile is the list
	// that lock must have been made from, like PackagesFile. HostArch is
	// the architecture of the host that runs them, which may differ from
	// the guest's (an arm64 guest emulated on an amd64 host); empty is Arch.
	HostLockFile     string
	HostPackagesFile string
	HostArch         string
	Mirror           string // overrides the mirror of the host's apt sources
	AptEtc           string // the host's apt configuration directory (/etc/apt)
	Log              *slog.Logger
}

// Result tells what Build did.
type Result struct {
	UpToDate bool // nothing to do: the image in OutDir matches the inputs
	Manifest *kernel.Manifest
}

func (o *Options) logger() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

// Build makes the image in o.OutDir, unless the one there was made from the
// same inputs.
func Build(ctx context.Context, o Options) (*Result, error) {
	log := o.logger()
	lock, lockText, err := readLock(o.LockFile, o.PackagesFile, o.Arch)
	if err != nil {
		return nil, err
	}
	var hostLock Lock
	var hostLockText []byte
	if o.HostArch == "" {
		o.HostArch = o.Arch
	}
	if o.HostLockFile != "" {
		if hostLock, hostLockText, err = readLock(o.HostLockFile, o.HostPackagesFile, o.HostArch); err != nil {
			return nil, err
		}
	}
	initBin, err := os.ReadFile(o.InitPath)
	if err != nil {
		return nil, fmt.Errorf("reading the guest init: %w", err)
	}
	version := InputsDigest(o.Arch, lockText, initBin, hostLockText)
	unlock, err := lockBuild(o.CacheDir, o.Arch, log)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if UpToDate(o.OutDir, version) {
		m, err := kernel.ReadManifest(o.OutDir)
		return &Result{UpToDate: true, Manifest: m}, err
	}
	debs, err := fetchDebs(ctx, o, lock)
	if err != nil {
		return nil, err
	}
	var hostDebs []string
	if hostLockText != nil {
		ho := o
		ho.Arch = o.HostArch
		if hostDebs, err = fetchDebs(ctx, ho, hostLock); err != nil {
			return nil, err
		}
	}
	keep, err := keptFiles(o.PackagesFile, o.Arch)
	if err != nil {
		return nil, err
	}
	m, err := assemble(ctx, o, lock, debs, keep, hostDebs, initBin, version)
	if err != nil {
		return nil, err
	}
	log.Info("image built", "dir", o.OutDir, "version", m.Version[:12])
	return &Result{Manifest: m}, nil
}

// keptFiles is the "keep=" globs of the package list, by package name.
func keptFiles(packagesFile, arch string) (map[string]string, error) {
	keep := map[string]string{}
	if packagesFile == "" {
		return keep, nil
	}
	text, err := os.ReadFile(packagesFile)
	if err != nil {
		return nil, err
	}
	wanted, err := ParsePackageList(string(text), arch)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", packagesFile, err)
	}
	for _, w := range wanted {
		if w.Keep != "" {
			keep[w.Name] = w.Keep
		}
	}
	return keep, nil
}

// readLock reads and checks a lock file for arch.
func readLock(lockFile, packagesFile, arch string) (Lock, []byte, error) {
	text, err := os.ReadFile(lockFile)
	if err != nil {
		return Lock{}, nil, fmt.Errorf("reading package lock (run `make image-lock`): %w", err)
	}
	lock, err := ParseLock(string(text))
	if err != nil {
		return Lock{}, nil, fmt.Errorf("%s: %w", lockFile, err)
	}
	if lock.Arch != arch {
		return Lock{}, nil, fmt.Errorf("%s is for %s, not %s", lockFile, lock.Arch, arch)
	}
	if err := checkLockCurrent(packagesFile, lockFile, arch, lock); err != nil {
		return Lock{}, nil, err
	}
	return lock, text, nil
}

// checkLockCurrent fails when the package list changed since the lock was
// made (the lock is what the image is built from).
func checkLockCurrent(packagesFile, lockFile, arch string, lock Lock) error {
	if packagesFile == "" || lock.Wanted == "" {
		return nil
	}
	text, err := os.ReadFile(packagesFile)
	if err != nil {
		return err
	}
	wanted, err := ParsePackageList(string(text), arch)
	if err != nil {
		return fmt.Errorf("%s: %w", packagesFile, err)
	}
	if WantedDigest(wanted) != lock.Wanted {
		return fmt.Errorf("%s changed since %s was made; run `make image-lock`", packagesFile, lockFile)
	}
	return nil
}

// InputsDigest is an image's version: a digest of everything it is made of.
func InputsDigest(arch string, lockText, initBin, hostLockText []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "berth-image %s\narch %s\nlock %x\n", BuilderVersion, arch, sha256.Sum256(lockText))
	fmt.Fprintf(h, "init %x\n", sha256.Sum256(initBin))
	if hostLockText != nil {
		fmt.Fprintf(h, "host-lock %x\n", sha256.Sum256(hostLockText))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// UpToDate reports whether dir holds a complete image of version: its
// manifest names that version, every artifact is recorded, and every file
// it recorded exists with the recorded size. (Hashing the artifacts again
// would cost a second.)
func UpToDate(dir, version string) bool {
	b, err := os.ReadFile(filepath.Join(dir, kernel.ManifestFile))
	if err != nil {
		return false
	}
	var m kernel.Manifest
	if json.Unmarshal(b, &m) != nil || m.Version != version {
		return false
	}
	for _, f := range artifactFiles {
		if m.Files[f] == "" {
			return false
		}
	}
	for f := range m.Files {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || m.Sizes[f] != fi.Size() {
			return false
		}
	}
	return true
}

var artifactFiles = []string{kernel.KernelFile, kernel.InitramfsFile, kernel.RootfsFile, kernel.WSLRootfsFile}

// assemble unpacks debs into a root tree and writes the artifacts.
func assemble(ctx context.Context, o Options, lock Lock, debs []string, keep map[string]string, hostDebs []string, initBin []byte, version string) (_ *kernel.Manifest, err error) {
	log := o.logger()
	work := filepath.Join(o.CacheDir, "work", o.Arch)
	root := filepath.Join(work, "root")
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, err
	}
	r, err := newRunner(filepath.Join(work, "fakeroot.state"), []string{"LC_ALL=C"})
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(root)
	stage := func(name string) string { return filepath.Join(o.OutDir, "."+name+".new") }
	defer func() {
		if err != nil {
			for _, f := range append(artifactFiles, kernel.ManifestFile, kernel.VirtiofsdDir) {
				os.RemoveAll(stage(f))
			}
		}
	}()

	log.Info("unpacking packages", "count", len(debs))
	unpack := make([]unpackedDeb, len(debs))
	for i, d := range debs { // debs are in lock.Packages' order
		unpack[i] = unpackedDeb{Path: d, Keep: keep[lock.Packages[i].Name]}
	}
	krel, epoch, err := prepareTree(ctx, r, root, o.Arch, unpack, stage(kernel.KernelFile))
	if err != nil {
		return nil, err
	}
	log.Info("writing initramfs", "modules", InitramfsModules)
	if err := writeInitramfsFile(root, krel, initBin, stage(kernel.InitramfsFile), epoch); err != nil {
		return nil, err
	}
	if err := clampTimes(root, epoch); err != nil {
		return nil, err
	}
	log.Info("writing root filesystem")
	if err := mkfsExt4(ctx, r, root, stage(kernel.RootfsFile), uuidFrom(version), epoch); err != nil {
		return nil, err
	}
	log.Info("writing WSL root file system")
	if err := writeWSLRootfs(ctx, r, root, initBin, stage(kernel.WSLRootfsFile), epoch); err != nil {
		return nil, err
	}
	m := &kernel.Manifest{
		Version: version, Arch: o.Arch, Suite: lock.Suite, KernelRelease: krel,
		Packages: map[string]string{}, Files: map[string]string{}, Sizes: map[string]int64{},
		WSLRootfs: kernel.WSLRootfsFile, WSLInit: "/" + WSLInitPath,
	}
	if len(hostDebs) > 0 {
		log.Info("unpacking host packages", "count", len(hostDebs), "dir", kernel.VirtiofsdDir, "hostArch", o.HostArch)
		if m.Virtiofsd, err = unpackVirtiofsd(ctx, hostDebs, stage(kernel.VirtiofsdDir), o.HostArch); err != nil {
			return nil, fmt.Errorf("host packages: %w", err)
		}
	}
	for _, p := range lock.Packages {
		m.Packages[p.Name] = p.Version
	}
	return m, publish(o.OutDir, stage, m)
}

// unpackedDeb is a package file to unpack into the root: whole, or only
// the paths its Keep globs match.
type unpackedDeb struct {
	Path string
	Keep string
}

// prepareTree unpacks debs into root (made afresh), copies the kernel to
// vmlinuzDst and makes the tree ready for mkfs. It returns the kernel
// release and the time every later timestamp is clamped to.
func prepareTree(ctx context.Context, r *runner, root, arch string, debs []unpackedDeb, vmlinuzDst string) (string, time.Time, error) {
	if err := os.RemoveAll(root); err != nil {
		return "", time.Time{}, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", time.Time{}, err
	}
	var unpack [][]string
	for _, d := range debs {
		if d.Keep == "" {
			unpack = append(unpack, []string{"dpkg-deb", "-x", d.Path, root})
		}
	}
	if err := r.runAll(ctx, unpack); err != nil {
		return "", time.Time{}, err
	}
	for _, d := range debs {
		if d.Keep != "" {
			if err := unpackKept(ctx, r, d, root); err != nil {
				return "", time.Time{}, err
			}
		}
	}
	krel, vmlinuz, err := kernelRelease(root)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := copyFile(vmlinuz, vmlinuzDst); err != nil {
		return "", time.Time{}, err
	}
	epoch, err := sourceDateEpoch(root)
	if err != nil {
		return "", time.Time{}, err
	}
	// depmod -b finds the modules through /lib.
	if err := mergedUsr(root, arch); err != nil {
		return "", time.Time{}, err
	}
	strip := []string{"rm", "-rf"}
	for _, p := range append(strippedPaths, replacedPaths()...) {
		strip = append(strip, filepath.Join(root, p))
	}
	if err := r.runAll(ctx, [][]string{strip, {"depmod", "-b", root, krel}}); err != nil {
		return "", time.Time{}, err
	}
	if err := fixupRoot(root, arch); err != nil {
		return "", time.Time{}, fmt.Errorf("preparing the root tree: %w", err)
	}
	return krel, epoch, nil
}

// unpackKept unpacks d beside root and moves the files its Keep globs
// match into root. Moving keeps the inodes fakeroot recorded (modes and
// owners from the package); the rest is removed through the runner, so
// fakeroot forgets it.
func unpackKept(ctx context.Context, r *runner, d unpackedDeb, root string) error {
	side := root + ".part"
	if err := r.runAll(ctx, [][]string{{"rm", "-rf", side}, {"dpkg-deb", "-x", d.Path, side}}); err != nil {
		return err
	}
	var kept int
	for _, g := range strings.Split(d.Keep, ",") {
		matches, err := filepath.Glob(filepath.Join(side, filepath.FromSlash(g)))
		if err != nil {
			return err
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(side, m)
			dst := filepath.Join(root, rel)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Rename(m, dst); err != nil {
				return err
			}
			kept++
		}
	}
	if err := r.runAll(ctx, [][]string{{"rm", "-rf", side}}); err != nil {
		return err
	}
	if kept == 0 {
		return fmt.Errorf("%s: keep=%s matches no file of the package", filepath.Base(d.Path), d.Keep)
	}
	return nil
}

// publish moves the staged artifacts into dir and writes the manifest. The
// old manifest goes first and the new one last, so a directory with a
// manifest always holds the files it describes.
func publish(dir string, stage func(string) string, m *kernel.Manifest) error {
	if err := os.Remove(filepath.Join(dir, kernel.ManifestFile)); err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, f := range artifactFiles {
		sum, size, err := hashFile(stage(f))
		if err != nil {
			return err
		}
		m.Files[f], m.Sizes[f] = sum, size
		if err := os.Rename(stage(f), filepath.Join(dir, f)); err != nil {
			return err
		}
	}
	if err := publishVirtiofsd(dir, stage, m); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(stage(kernel.ManifestFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(stage(kernel.ManifestFile), filepath.Join(dir, kernel.ManifestFile))
}

// publishVirtiofsd replaces the image's virtiofsd directory with the staged
// one (or removes it when the image has none) and records the daemon and
// its loader in the manifest.
func publishVirtiofsd(dir string, stage func(string) string, m *kernel.Manifest) error {
	final := filepath.Join(dir, kernel.VirtiofsdDir)
	if err := os.RemoveAll(final); err != nil {
		return err
	}
	if m.Virtiofsd == nil {
		return nil
	}
	if err := os.Rename(stage(kernel.VirtiofsdDir), final); err != nil {
		return err
	}
	for _, f := range []string{m.Virtiofsd.Path, m.Virtiofsd.Loader} {
		sum, size, err := hashFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		m.Files[f], m.Sizes[f] = sum, size
	}
	return nil
}

// sourceDateEpoch is SOURCE_DATE_EPOCH when set, else the newest packaged
// file's time: every later time in the image is clamped to it.
func sourceDateEpoch(root string) (time.Time, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH: %w", err)
		}
		return time.Unix(n, 0), nil
	}
	t, err := newestPackagedFile(root)
	return t.Truncate(time.Second), err
}

// uuidFrom makes a stable filesystem UUID (version 4 layout) from a digest.
func uuidFrom(hexDigest string) string {
	b, _ := hex.DecodeString(hexDigest[:32])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}
