package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDescribeVirtiofsd(t *testing.T) {
	dir := t.TempDir()
	if _, err := describeVirtiofsd(dir); err == nil || !strings.Contains(err.Error(), "usr/libexec/virtiofsd") {
		t.Fatalf("empty tree: %v", err)
	}
	for _, f := range []string{"usr/libexec/virtiofsd", "usr/lib/x86_64-linux-gnu/libc.so.6"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), nil, 0o755)
	}
	if _, err := describeVirtiofsd(dir); err == nil || !strings.Contains(err.Error(), "libc6") {
		t.Fatalf("no loader: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), nil, 0o755)
	p, err := describeVirtiofsd(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p.Path != "usr/libexec/virtiofsd" || p.Loader != "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" || p.LibraryPath != "usr/lib/x86_64-linux-gnu" {
		t.Errorf("%+v", p)
	}
}
