package sftpshare_test

import (
	"os"
	"path/filepath"
	"testing"
)

// On Windows a backslash separates too: a guest's name with backslashes
// and ".." stays inside the folder, and a drive path is a name in it.
func TestConfinedWindowsNames(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "shared")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "secret"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("in"), 0o600); err != nil {
		t.Fatal(err)
	}
	cl, _ := serve(t, dir, false)
	for _, p := range []string{`/..\secret`, `/x\..\..\secret`, `/` + filepath.Join(parent, "secret"), `/C:\Windows\win.ini`} {
		if f, err := cl.Open(p); err == nil {
			f.Close()
			t.Errorf("%s opened", p)
		}
	}
	if f, err := cl.Open(`/in.txt`); err != nil {
		t.Errorf("a file inside: %v", err)
	} else {
		f.Close()
	}
}
