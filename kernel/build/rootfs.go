package build

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// strippedPaths are removed from the root tree: documentation, manuals,
// translations, and /boot (the kernel is copied out first).
var strippedPaths = []string{
	"boot",
	"usr/share/doc", "usr/share/doc-base", "usr/share/man", "usr/share/info",
	"usr/share/locale", "usr/share/lintian", "usr/share/bug", "usr/share/bash-completion",
	"usr/share/zsh", "usr/share/fish", "usr/share/gitweb",
}

// iptablesAlternatives are the links the iptables package's postinst makes
// with update-alternatives, resolved to the legacy (x_tables) backend: the
// nft backend reads the kernel's whole ruleset on every call, and the
// engine calls iptables dozens of times at start and for every published
// port; under emulation each call then costs about twice as long.
var iptablesAlternatives = map[string]string{
	"usr/sbin/iptables":          "iptables-legacy",
	"usr/sbin/iptables-save":     "iptables-legacy-save",
	"usr/sbin/iptables-restore":  "iptables-legacy-restore",
	"usr/sbin/ip6tables":         "ip6tables-legacy",
	"usr/sbin/ip6tables-save":    "ip6tables-legacy-save",
	"usr/sbin/ip6tables-restore": "ip6tables-legacy-restore",
}

// DockerGID is the docker group's id in the guest.
const DockerGID = 999

// etcFiles are what the maintainer scripts (base-passwd, netbase, ...) would
// have written, reduced to what the engine needs.
var etcFiles = map[string]string{
	"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
	"etc/group": "root:x:0:\n" +
		fmt.Sprintf("docker:x:%d:\n", DockerGID) +
		"nogroup:x:65534:\n",
	"etc/nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n" +
		"networks: files\nprotocols: files\nservices: files\nethers: files\nrpc: files\n",
	"etc/hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
	// Empty targets the guest init bind-mounts or fills at boot.
	"etc/resolv.conf": "",
	"etc/hostname":    "",
	"etc/machine-id":  "",
}

// emptyDirs are mount points and state directories, with their modes.
var emptyDirs = map[string]os.FileMode{
	"proc": 0o555, "sys": 0o555, "dev": 0o755, "run": 0o755, "tmp": 0o777 | os.ModeSticky,
	"root": 0o700, "mnt/data": 0o755, "var/lib/docker": 0o710, "var/lib/containerd": 0o711,
	"var/tmp": 0o777 | os.ModeSticky, "var/log": 0o755, "etc/docker": 0o755,
}

// fixupRoot does by hand what the packages' maintainer scripts would have
// done and the engine needs. root has every package unpacked.
func fixupRoot(root, arch string) error {
	steps := []func() error{
		func() error { return mergedUsr(root, arch) },
		func() error { return symlinks(root, iptablesAlternatives) },
		func() error { return shell(root) },
		func() error { return writeFiles(root, etcFiles) },
		func() error { return makeDirs(root, emptyDirs) },
		func() error { return replaceWithSymlink(filepath.Join(root, "var/run"), "/run") },
		func() error { return replaceWithSymlink(filepath.Join(root, "var/lock"), "/run/lock") },
		func() error { return caBundle(root) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// mergedUsr makes /bin /sbin /lib (and /lib64 on amd64) links into /usr when
// base-files did not ship them (trixie's does).
func mergedUsr(root, arch string) error {
	links := map[string]string{"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib"}
	if arch == "amd64" {
		links["lib64"] = "usr/lib64"
	}
	for name, target := range links {
		p := filepath.Join(root, name)
		if fi, err := os.Lstat(p); err == nil {
			if fi.Mode()&fs.ModeSymlink == 0 {
				return fmt.Errorf("/%s is a directory, not a merged-/usr link: a package ships files there", name)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Join(root, target), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(target, p); err != nil {
			return err
		}
	}
	return nil
}

// symlinks creates links (path → target), checking each target exists.
func symlinks(root string, links map[string]string) error {
	for p, target := range links {
		abs := filepath.Join(root, p)
		if _, err := os.Stat(filepath.Join(filepath.Dir(abs), target)); err != nil {
			return fmt.Errorf("link /%s: target missing: %w", p, err)
		}
		if err := replaceWithSymlink(abs, target); err != nil {
			return err
		}
	}
	return nil
}

// replaceWithSymlink makes p a link to target. Whatever else is at p must
// have been removed before (see replacedPaths): a removal here would go
// around fakeroot, whose state would then describe a freed inode number.
func replaceWithSymlink(p, target string) error {
	if cur, err := os.Readlink(p); err == nil && cur == target {
		return nil
	}
	if _, err := os.Lstat(p); err == nil {
		return fmt.Errorf("%s exists; it should have been removed before the fixups", p)
	}
	return os.Symlink(target, p)
}

// replacedPaths are removed (through the runner) before fixupRoot, which
// makes links there: base-files ships /var/run and /var/lock as directories
// that its postinst turns into links.
func replacedPaths() []string {
	paths := []string{"var/run", "var/lock"}
	for p := range iptablesAlternatives {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// shell links /usr/bin/sh to busybox when no package provides a shell.
func shell(root string) error {
	sh := filepath.Join(root, "usr/bin/sh")
	if _, err := os.Lstat(sh); err == nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(root, "usr/bin/busybox")); err != nil {
		return fmt.Errorf("no /usr/bin/sh and no busybox: %w", err)
	}
	return os.Symlink("busybox", sh)
}

func writeFiles(root string, files map[string]string) error {
	for p, content := range files {
		abs := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(abs, []byte(content), 0o644); err != nil {
			return err
		}
		if err := os.Chmod(abs, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// dirModeCommands are chmod commands for emptyDirs. makeDirs sets the modes
// too, but under fakeroot a directory a package shipped (/proc, /tmp) keeps
// the mode fakeroot recorded unless the change goes through fakeroot.
func dirModeCommands(root string) [][]string {
	var cmds [][]string
	for _, p := range slices.Sorted(maps.Keys(emptyDirs)) {
		m := emptyDirs[p]
		mode := uint32(m.Perm())
		if m&os.ModeSticky != 0 {
			mode |= 0o1000
		}
		cmds = append(cmds, []string{"chmod", fmt.Sprintf("%04o", mode), filepath.Join(root, p)})
	}
	return cmds
}

func makeDirs(root string, dirs map[string]os.FileMode) error {
	for p, mode := range dirs {
		abs := filepath.Join(root, p)
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(abs, mode); err != nil {
			return err
		}
	}
	return nil
}

// caBundle writes /etc/ssl/certs/ca-certificates.crt as update-ca-certificates
// would: every certificate of /usr/share/ca-certificates, in name order.
func caBundle(root string) error {
	certs, err := filepath.Glob(filepath.Join(root, "usr/share/ca-certificates/*/*.crt"))
	if err != nil || len(certs) == 0 {
		return fmt.Errorf("no certificates under /usr/share/ca-certificates")
	}
	sort.Strings(certs)
	var b strings.Builder
	for _, c := range certs {
		pem, err := os.ReadFile(c)
		if err != nil {
			return err
		}
		b.Write(pem)
		if len(pem) > 0 && pem[len(pem)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	dir := filepath.Join(root, "etc/ssl/certs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "ca-certificates.crt"), []byte(b.String()), 0o644)
}

// kernelRelease finds the one /boot/vmlinuz-<release> in root.
func kernelRelease(root string) (release, path string, err error) {
	m, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(m) != 1 {
		return "", "", fmt.Errorf("want one /boot/vmlinuz-* in the unpacked packages, found %d", len(m))
	}
	return strings.TrimPrefix(filepath.Base(m[0]), "vmlinuz-"), m[0], nil
}

// newestPackagedFile returns the newest modification time of a regular file
// in root: the packages' own clamp, used as SOURCE_DATE_EPOCH by default.
func newestPackagedFile(root string) (time.Time, error) {
	var newest time.Time
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
		return nil
	})
	return newest, err
}

// treeUsage is the space and inode count of root.
func treeUsage(root string) (bytes int64, inodes int64, err error) {
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		inodes++
		fi, err := d.Info()
		if err != nil {
			return err
		}
		bytes += (fi.Size() + 4095) &^ 4095
		return nil
	})
	return bytes, inodes, err
}

// ext4Size is the image size for a tree: content plus metadata plus 10%
// headroom, at least 64 MiB, rounded to MiB.
func ext4Size(bytes, inodes int64) (sizeBytes int64, inodeCount int64) {
	inodeCount = inodes + inodes/5 + 1024
	s := bytes + bytes/10 + inodeCount*256 + 32<<20
	s = max(s, 64<<20)
	return (s + 1<<20 - 1) &^ (1<<20 - 1), inodeCount
}

// mkfsExt4 builds the ext4 image from root. The UUID and directory hash seed
// are fixed by the caller; E2FSPROGS_FAKE_TIME fixes the superblock times.
// There is no journal: the disk is attached read-only.
func mkfsExt4(ctx context.Context, r *runner, root, img, uuid string, epoch time.Time) error {
	bytes, inodes, err := treeUsage(root)
	if err != nil {
		return err
	}
	size, n := ext4Size(bytes, inodes)
	if err := os.Remove(img); err != nil && !os.IsNotExist(err) {
		return err
	}
	tr := *r
	tr.env = append(tr.env, fmt.Sprintf("E2FSPROGS_FAKE_TIME=%d", epoch.Unix()), fmt.Sprintf("SOURCE_DATE_EPOCH=%d", epoch.Unix()))
	mkfs := []string{"mkfs.ext4", "-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256",
		"-N", fmt.Sprint(n), "-m", "0", "-L", "berth-root", "-U", uuid,
		"-O", "^has_journal", "-E", "hash_seed=" + uuid + ",root_owner=0:0,lazy_itable_init=0,nodiscard",
		"-d", root, img, fmt.Sprintf("%dk", size/1024)}
	if err := tr.runAll(ctx, append(dirModeCommands(root), mkfs)); err != nil {
		return err
	}
	if err := fixInodeTimes(ctx, root, img, epoch); err != nil {
		return err
	}
	// A read-only check; it needs no fakeroot.
	return (&runner{}).run(ctx, "e2fsck", "-fn", img)
}

// fixInodeTimes sets every inode's ctime and atime to epoch. mkfs.ext4 -d
// copies them from the tree, where ctime cannot be set and is the build's
// time; debugfs can set them in the image.
func fixInodeTimes(ctx context.Context, root, img string, epoch time.Time) error {
	script, err := inodeTimesScript(root, epoch)
	if err != nil {
		return err
	}
	sf := img + ".debugfs"
	if err := os.WriteFile(sf, script, 0o644); err != nil {
		return err
	}
	defer os.Remove(sf)
	cmd := exec.CommandContext(ctx, "debugfs", "-w", "-f", sf, img)
	cmd.Env = append(os.Environ(), fmt.Sprintf("E2FSPROGS_FAKE_TIME=%d", epoch.Unix()))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("debugfs: %w: %s", err, stderr.String())
	}
	// debugfs reports a failed request on stderr but still exits 0.
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if line != "" && !strings.HasPrefix(line, "debugfs ") {
			return fmt.Errorf("debugfs: %s", line)
		}
	}
	return nil
}

// inodeTimesScript is a debugfs script that sets ctime and atime of every
// path under root (as seen inside the image) to epoch.
func inodeTimesScript(root string, epoch time.Time) ([]byte, error) {
	var b bytes.Buffer
	at := fmt.Sprintf("@%d", epoch.Unix())
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		in := "/" + filepath.ToSlash(rel)
		if rel == "." {
			in = "/"
		}
		if strings.ContainsAny(in, "\"\n\\") {
			return fmt.Errorf("cannot name %q in a debugfs script", in)
		}
		fmt.Fprintf(&b, "sif \"%s\" ctime %s\nsif \"%s\" atime %s\n", in, at, in, at)
		return nil
	})
	return b.Bytes(), err
}
