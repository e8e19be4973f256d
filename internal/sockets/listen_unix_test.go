//go:build !windows

package sockets

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestListenUnixModeAndRoundTrip(t *testing.T) {
	for _, dirMode := range []fs.FileMode{0o700, 0o755} {
		dir := t.TempDir()
		if err := os.Chmod(dir, dirMode); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "agent.sock")
		l, err := Listen(path)
		if err != nil {
			t.Fatal(err)
		}
		go serveEcho(l)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
			t.Errorf("dir %o: socket mode = %v, want socket 0600", dirMode, fi.Mode())
		}
		if got := l.Addr().String(); got != path {
			t.Errorf("Addr = %q, want %q", got, path)
		}
		roundTrip(t, path)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("socket file after Close: %v, want it removed", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("left behind in %s: %v", dir, entries)
		}
	}
}

func TestListenRemovesStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.sock")
	// A socket file nobody listens on any more, as a killed agent leaves it.
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ul.SetUnlinkOnClose(false)
	if err := ul.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("stale socket not in place: %v", err)
	}
	l, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer l.Close()
	go serveEcho(l)
	roundTrip(t, path)
}

func TestListenRefusesLiveSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go serveEcho(l)
	_, err = Listen(path)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Listen: %v, want ErrInUse", err)
	}
	if !strings.Contains(err.Error(), "already in use") || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q should name the path and say already in use", err)
	}
	roundTrip(t, path) // the first listener is untouched
}

func TestListenRefusesNonSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Listen over a regular file: %v, want a not-a-socket error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Fatal("regular file was touched")
	}
}

func TestListenPathTooLong(t *testing.T) {
	path := filepath.Join(t.TempDir(), strings.Repeat("s", 120))
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("Listen with a long path: %v, want a length error", err)
	}
}

func TestCloseLeavesSuccessorSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.sock")
	l1, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	// A successor replaced the file (as after a hang); closing the old
	// listener must not remove the new socket.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	l2, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	go serveEcho(l2)
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, path)
}

func TestDialNoListener(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "none.sock")
	if _, err := Dial(ctx, path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Dial without listener: %v, want an error naming the path", err)
	}
}
