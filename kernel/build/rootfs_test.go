package build

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/wine"
)

// fakeTree lays out the few packaged files fixupRoot relies on.
func fakeTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"usr/sbin/xtables-nft-multi":               "elf",
		"usr/sbin/xtables-legacy-multi":            "elf",
		"usr/bin/busybox":                          "elf",
		"usr/share/ca-certificates/mozilla/B.crt":  "B",
		"usr/share/ca-certificates/mozilla/A.crt":  "A\n",
		"usr/lib/modules/6.12.0-cloud-amd64/.keep": "",
		"var/lib/.keep":                            "",
	}
	for p, c := range files {
		abs := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(abs, []byte(c), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, backend := range []string{"nft", "legacy"} {
		for _, n := range []string{"iptables-", "iptables-%s-save", "iptables-%s-restore", "ip6tables-", "ip6tables-%s-save", "ip6tables-%s-restore"} {
			name := n + backend
			if strings.Contains(n, "%s") {
				name = fmt.Sprintf(n, backend)
			}
			if err := os.Symlink("xtables-"+backend+"-multi", filepath.Join(root, "usr/sbin", name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func TestFixupRoot(t *testing.T) {
	wine.Skip(t, "the guest image is built on Linux; Wine does not give POSIX symlinks")
	root := fakeTree(t)
	if err := fixupRoot(root, "amd64"); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64",
		"var/run": "/run", "var/lock": "/run/lock", "usr/sbin/iptables": "iptables-legacy", "usr/sbin/ip6tables-restore": "ip6tables-legacy-restore",
		"usr/bin/sh": "busybox",
	}
	for p, want := range links {
		if got, err := os.Readlink(filepath.Join(root, p)); err != nil || got != want {
			t.Errorf("/%s -> %q (%v), want %q", p, got, err, want)
		}
	}
	// The iptables links resolve to the real binary.
	if _, err := os.Stat(filepath.Join(root, "usr/sbin/iptables")); err != nil {
		t.Error(err)
	}
	for p, mode := range map[string]os.FileMode{"tmp": 0o777 | os.ModeSticky | os.ModeDir, "var/lib/docker": 0o710 | os.ModeDir, "mnt/data": 0o755 | os.ModeDir, "proc": 0o555 | os.ModeDir} {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil || fi.Mode() != mode {
			t.Errorf("/%s: %v %v, want %v", p, fi.Mode(), err, mode)
		}
	}
	group, _ := os.ReadFile(filepath.Join(root, "etc/group"))
	if !strings.Contains(string(group), "docker:x:") || !strings.Contains(string(group), "nogroup:x:65534:") {
		t.Errorf("/etc/group:\n%s", group)
	}
	if fi, err := os.Stat(filepath.Join(root, "etc/resolv.conf")); err != nil || fi.Size() != 0 {
		t.Errorf("resolv.conf: %v", err)
	}
	bundle, _ := os.ReadFile(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt"))
	if string(bundle) != "A\nB\n" {
		t.Errorf("bundle %q", bundle)
	}
	// Running it again (a retried build) is fine.
	if err := fixupRoot(root, "amd64"); err != nil {
		t.Fatal(err)
	}
}

func TestFixupRootRefusesLeftovers(t *testing.T) {
	wine.Skip(t, "the guest image is built on Linux; Wine does not give POSIX symlinks")
	root := fakeTree(t)
	if err := os.MkdirAll(filepath.Join(root, "var/run"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fixupRoot(root, "amd64"); err == nil {
		t.Fatal("a /var/run directory left in place: want an error")
	}
}

func TestFixupRootRefusesUnmergedUsr(t *testing.T) {
	root := fakeTree(t)
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fixupRoot(root, "amd64"); err == nil {
		t.Fatal("a real /bin directory: want an error")
	}
}

func TestExt4Size(t *testing.T) {
	size, inodes := ext4Size(300<<20, 10000)
	if size < 330<<20 || size > 400<<20 || size%(1<<20) != 0 || inodes < 10000 {
		t.Errorf("ext4Size = %d MiB, %d inodes", size>>20, inodes)
	}
	if size, _ := ext4Size(0, 1); size != 64<<20 {
		t.Errorf("minimum %d", size)
	}
}

// TestUnpackKept builds a package with dpkg-deb and unpacks only what its
// keep= globs name: the kept files land in the root with their modes, the
// rest of the package nowhere, and a glob matching nothing is an error.
func TestUnpackKept(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("no dpkg-deb")
	}
	dir := t.TempDir()
	pkg := filepath.Join(dir, "pkg")
	for p, mode := range map[string]os.FileMode{"usr/bin/qemu-aarch64": 0o755, "usr/bin/qemu-riscv64": 0o755, "usr/share/doc/q/copyright": 0o644} {
		mustWrite(t, filepath.Join(pkg, p), "x "+p, mode)
	}
	mustWrite(t, filepath.Join(pkg, "DEBIAN/control"), "Package: q\nVersion: 1\nArchitecture: amd64\nMaintainer: t <t@example.com>\nDescription: t\n", 0o644)
	deb := filepath.Join(dir, "q_1_amd64.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", pkg, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -b: %v: %s", err, out)
	}
	r, err := newRunner(filepath.Join(dir, "fakeroot.state"), []string{"LC_ALL=C"})
	if err != nil {
		t.Skip(err)
	}
	root := filepath.Join(dir, "root")
	mustWrite(t, filepath.Join(root, "usr/bin/other"), "other", 0o755)
	if err := unpackKept(context.Background(), r, unpackedDeb{Path: deb, Keep: "usr/bin/qemu-aarch64"}, root); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(root, "usr/bin/qemu-aarch64"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("kept file: %v, %v", fi, err)
	}
	for _, gone := range []string{"usr/bin/qemu-riscv64", "usr/share/doc", "DEBIAN", "../root.part"} {
		if _, err := os.Stat(filepath.Join(root, gone)); err == nil {
			t.Errorf("%s is in the root; only the kept file should be", gone)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "usr/bin/other")); err != nil {
		t.Errorf("a file already in the root went: %v", err)
	}
	err = unpackKept(context.Background(), r, unpackedDeb{Path: deb, Keep: "usr/bin/qemu-x86_64"}, root)
	if err == nil || !strings.Contains(err.Error(), "keep=usr/bin/qemu-x86_64 matches no file") {
		t.Errorf("a glob matching nothing: err = %v", err)
	}
}

func mustWrite(t *testing.T, p, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}
