// Package wine tells tests whether they run under Wine, where some Windows
// services (HCS, WSL) do not exist and a few behave differently, so that
// they can skip or adapt out loud instead of failing or passing by accident.
package wine

import (
	"os"
	"path/filepath"
	"testing"
)

// Detected reports whether this Windows process runs under Wine. It is
// always false on other operating systems.
func Detected() bool { return detected() }

// Skip skips t with reason when running under Wine.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if Detected() {
		t.Skipf("skipped under Wine: %s", reason)
	}
}

// TempDir is t.TempDir that also cleans up under Wine. Go 1.26's
// os.RemoveAll deletes through NtSetInformationFile with
// FileDispositionInformationEx, which Wine 8 does not implement ("Invalid
// function"), so t.TempDir's own cleanup fails the test there. Under Wine
// this removes the tree one entry at a time with os.Remove instead.
func TempDir(t testing.TB) string {
	t.Helper()
	if !Detected() {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", "berth-test-")
	if err != nil {
		t.Fatalf("TempDir: %v", err)
	}
	t.Cleanup(func() {
		if err := removeTree(dir); err != nil {
			t.Errorf("TempDir cleanup: %v", err)
		}
	})
	return dir
}

// removeTree removes dir and everything below it without os.RemoveAll.
func removeTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			err = removeTree(p)
		} else {
			err = os.Remove(p)
		}
		if err != nil {
			return err
		}
	}
	return os.Remove(dir)
}
