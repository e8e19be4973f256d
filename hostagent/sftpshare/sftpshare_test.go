package sftpshare_test

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/pkg/sftp"

	"github.com/berth-dev/berth/hostagent/sftpshare"
)

// serve serves dir to an SFTP client (pkg/sftp's, speaking as sshfs does)
// over an in-memory connection; the server's result comes on the channel
// once the client has closed.
func serve(t *testing.T, dir string, readOnly bool) (*sftp.Client, <-chan error) {
	t.Helper()
	c, s := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- sftpshare.Serve(s, dir, readOnly) }()
	cl, err := sftp.NewClientPipe(c, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl, done
}

func TestRel(t *testing.T) {
	for in, want := range map[string]string{"/": ".", "": ".", "/a/b": "a/b", "/../x": "x", "a/../../b": "b", "/a/./c/": "a/c"} {
		if got := sftpshare.Rel(in); got != want {
			t.Errorf("Rel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadWrite(t *testing.T) {
	dir := t.TempDir()
	cl, done := serve(t, dir, false)
	f, err := cl.Create("/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("hello world")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if b, err := os.ReadFile(filepath.Join(dir, "a.txt")); err != nil || string(b) != "hello world" {
		t.Fatalf("on the host: %q %v", b, err)
	}
	// A file opened for reading and writing at once, as sshfs opens one.
	rw, err := cl.OpenFile("/a.txt", os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rw.WriteAt([]byte("HELLO"), 0); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 11)
	if _, err := rw.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	rw.Close()
	if string(buf) != "HELLO world" {
		t.Errorf("read back %q", buf)
	}
	if err := cl.Mkdir("/d"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Rename("/a.txt", "/d/b.txt"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.txt"), []byte("c"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cl.Rename("/c.txt", "/d/b.txt"); err == nil {
		t.Error("SFTP rename replaced an existing file")
	}
	if err := cl.PosixRename("/c.txt", "/d/b.txt"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "d", "b.txt")); string(b) != "c" {
		t.Errorf("after posix-rename: %q", b)
	}
	if err := cl.Truncate("/d/b.txt", 0); err != nil {
		t.Fatal(err)
	}
	mtime := time.Unix(1700000000, 0)
	if err := cl.Chtimes("/d/b.txt", mtime, mtime); err != nil {
		t.Fatal(err)
	}
	fi, err := cl.Stat("/d/b.txt")
	if err != nil || fi.Size() != 0 || !fi.ModTime().Equal(mtime) {
		t.Errorf("stat after truncate and chtimes: %+v %v", fi, err)
	}
	if runtime.GOOS != "windows" {
		if err := cl.Chmod("/d/b.txt", 0o600); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(filepath.Join(dir, "d", "b.txt")); fi.Mode().Perm() != 0o600 {
			t.Errorf("mode on the host %v", fi.Mode())
		}
		if err := cl.Symlink("b.txt", "/d/link"); err != nil {
			t.Fatal(err)
		}
		if target, err := cl.ReadLink("/d/link"); err != nil || target != "b.txt" {
			t.Errorf("readlink %q %v", target, err)
		}
		if fi, err := cl.Lstat("/d/link"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("lstat of the link: %v %v", fi, err)
		}
	}
	entries, err := cl.ReadDir("/d")
	if err != nil || len(entries) == 0 {
		t.Errorf("readdir: %v %v", entries, err)
	}
	if err := cl.Remove("/d/b.txt"); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// Nothing outside the folder is reached: not by "..", not through a
// symbolic link the guest made or found.
func TestConfined(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "shared")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(parent, "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	cl, _ := serve(t, dir, false)
	if f, err := cl.Open("/../secret"); err == nil {
		f.Close()
		t.Error("/../secret opened")
	}
	if runtime.GOOS == "windows" {
		return
	}
	if err := os.Symlink(secret, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if err := cl.Symlink("../secret", "/out2"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/out", "/out2"} {
		if f, err := cl.Open(p); err == nil {
			b, _ := io.ReadAll(f)
			f.Close()
			t.Errorf("%s opened the file outside the share: %q", p, b)
		}
		if f, err := cl.OpenFile(p, os.O_WRONLY|os.O_TRUNC); err == nil {
			f.Close()
			t.Errorf("%s opened for writing", p)
		}
	}
	if b, _ := os.ReadFile(secret); string(b) != "secret" {
		t.Errorf("the file outside was changed: %q", b)
	}
}

func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	cl, _ := serve(t, dir, true)
	f, err := cl.Open("/a")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(f); string(b) != "a" {
		t.Errorf("read %q", b)
	}
	f.Close()
	checks := map[string]func() error{
		"create": func() error { _, err := cl.Create("/b"); return err },
		"write":  func() error { _, err := cl.OpenFile("/a", os.O_WRONLY); return err },
		"mkdir":  func() error { return cl.Mkdir("/d") },
		"remove": func() error { return cl.Remove("/a") },
		"rename": func() error { return cl.PosixRename("/a", "/c") },
		"chmod":  func() error { return cl.Chmod("/a", 0o600) },
	}
	for what, do := range checks {
		if err := do(); !errors.Is(err, os.ErrPermission) {
			t.Errorf("%s on a read-only share: %v, want permission denied", what, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a")); string(b) != "a" {
		t.Errorf("the file changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); err == nil {
		t.Error("a file was created")
	}
}

func TestMissingFolder(t *testing.T) {
	c, s := net.Pipe()
	defer c.Close()
	err := sftpshare.Serve(s, filepath.Join(t.TempDir(), "gone"), false)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing folder: %v", err)
	}
}
