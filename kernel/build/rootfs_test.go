package build

import (
	"fmt"
	"os"
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
