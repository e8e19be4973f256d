//go:build !windows

package sockets

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// privateDir is a temporary directory closed to group and others, as a
// machine directory is.
func privateDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestListenDatagramIsOwnerOnlyAndReplacesAnOldSocket(t *testing.T) {
	dir := privateDir(t)
	p := filepath.Join(dir, "net.sock")
	first, err := ListenDatagram(p)
	if err != nil {
		t.Fatal(err)
	}
	first.Close() // leaves its file, as a helper that died would
	c, err := ListenDatagram(p)
	if err != nil {
		t.Fatalf("over an old socket: %v", err)
	}
	defer c.Close()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	open := t.TempDir()
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenDatagram(filepath.Join(open, "s.sock")); err == nil || !strings.Contains(err.Error(), "closed to group and others") {
		t.Errorf("in a directory open to others: %v", err)
	}

	f := filepath.Join(dir, "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenDatagram(f); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("over a regular file: %v", err)
	}
}

// A frame as large as the link's MTU allows (65535 + the Ethernet header)
// passes whole, through the pair and through a bound, connected socket.
func TestDatagramsCarryLargeFrames(t *testing.T) {
	a, b, err := DatagramPair()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	frame := bytes.Repeat([]byte{0xab}, 65535+14)
	if _, err := a.Write(frame); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<17)
	n, err := b.Read(buf)
	if err != nil || n != len(frame) {
		t.Fatalf("pair: read %d, %v; want %d", n, err, len(frame))
	}

	dir := privateDir(t)
	srv, err := ListenDatagram(filepath.Join(dir, "srv.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cli, err := ListenDatagram(filepath.Join(dir, "cli.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if err := ConnectDatagram(cli, filepath.Join(dir, "srv.sock")); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Write(frame); err != nil {
		t.Fatal(err)
	}
	n, from, err := srv.ReadFromUnix(buf)
	if err != nil || n != len(frame) || from == nil || from.Name != filepath.Join(dir, "cli.sock") {
		t.Fatalf("connected: read %d from %v, %v", n, from, err)
	}
	if _, err := srv.WriteToUnix(frame[:100], from); err != nil {
		t.Fatal(err)
	}
	if n, err := cli.Read(buf); err != nil || n != 100 {
		t.Fatalf("reply: %d, %v", n, err)
	}
}
