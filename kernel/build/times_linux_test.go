package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestClampTimesAndScript(t *testing.T) {
	root := fakeTree(t)
	epoch := time.Unix(1700000000, 0)
	old := time.Unix(1600000000, 0)
	if err := os.Chtimes(filepath.Join(root, "usr/bin/busybox"), old, old); err != nil {
		t.Fatal(err)
	}
	if err := clampTimes(root, epoch); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]time.Time{"usr/bin/busybox": old, "usr/sbin/xtables-nft-multi": epoch, "usr": epoch} {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil || !fi.ModTime().Equal(want) {
			t.Errorf("%s: %v %v, want %v", p, fi.ModTime(), err, want)
		}
	}
	fi, _ := os.Lstat(filepath.Join(root, "usr/sbin/iptables-nft"))
	if !fi.ModTime().Equal(epoch) {
		t.Errorf("symlink time %v", fi.ModTime())
	}
	s, err := inodeTimesScript(root, epoch)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sif \"/\" ctime @1700000000\n", "sif \"/usr/bin/busybox\" atime @1700000000\n"} {
		if !strings.Contains(string(s), want) {
			t.Errorf("script lacks %q", want)
		}
	}
}
