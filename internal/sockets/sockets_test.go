package sockets

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestCheckPathLength(t *testing.T) {
	dir := "/Users/someone/.berth/default/"
	for _, tc := range []struct {
		goos    string
		path    string
		wantErr string
	}{
		{"darwin", "/" + strings.Repeat("a", 102), ""},
		{"darwin", "/" + strings.Repeat("a", 103), "over the 103-byte limit of darwin (104 including"},
		{"linux", "/" + strings.Repeat("a", 106), ""},
		{"linux", "/" + strings.Repeat("a", 107), "over the 107-byte limit of linux (108 including"},
		{"darwin", dir + strings.Repeat("x", 80), dir},
		{"windows", `\\.\pipe\berth-default`, ""},
		{"windows", `\\.\PIPE\berth-default`, ""},
		{"windows", `C:\berth\agent.sock`, `does not start with \\.\pipe\`},
		{"windows", `\\.\pipe\` + strings.Repeat("p", 247), ""},
		{"windows", `\\.\pipe\` + strings.Repeat("p", 248), "over the 256-character limit"},
	} {
		err := CheckPathLength(tc.goos, tc.path)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s %d bytes: unexpected error %v", tc.goos, len(tc.path), err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s %d bytes: error %v, want one containing %q", tc.goos, len(tc.path), err, tc.wantErr)
		}
	}
}

// serveEcho accepts on l and echoes every connection until l is closed.
func serveEcho(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_, _ = io.Copy(c, c)
		}()
	}
}

// roundTrip dials path, sends a line and expects it back.
func roundTrip(t *testing.T, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != "ping\n" {
		t.Fatalf("echo = %q", buf)
	}
}
