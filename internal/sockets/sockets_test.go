package sockets

import (
	"context"
	"errors"
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

func TestCheckOwner(t *testing.T) {
	const pipe, me, other = `\\.\pipe\berth-default-S-1-5-21-1-2-3-1001`, "S-1-5-21-1-2-3-1001", "S-1-5-21-1-2-3-1002"
	if err := checkOwner(pipe, 42, me, me); err != nil {
		t.Errorf("our own server refused: %v", err)
	}
	if err := checkOwner(pipe, 42, "s-1-5-21-1-2-3-1001", me); err != nil {
		t.Errorf("the same SID in lowercase refused: %v", err)
	}
	err := checkOwner(pipe, 42, other, me)
	var oe *OwnerError
	if !errors.Is(err, ErrNotOwner) || !errors.As(err, &oe) || oe.Owner != other {
		t.Fatalf("another user's server: %v, want an OwnerError naming %s", err, other)
	}
	for _, want := range []string{pipe, other, me, "process 42", "another user"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not name %q", err, want)
		}
	}
	if err := checkOwner(pipe, 42, "", me); !errors.Is(err, ErrNotOwner) {
		t.Errorf("a server without an owner: %v, want a refusal", err)
	}
	if err := checkOwner(pipe, 42, "", ""); !errors.Is(err, ErrNotOwner) {
		t.Errorf("nothing known: %v, want a refusal", err)
	}
	denied := &OwnerError{Pipe: pipe, PID: 7, User: me, Err: errors.New("opening the server process: Access is denied. (it runs as another user, or elevated)")}
	if !errors.Is(denied, ErrNotOwner) || !strings.Contains(denied.Error(), pipe) || !strings.Contains(denied.Error(), "another user") {
		t.Errorf("denied: %v", denied)
	}
}

// serveEcho accepts on l and echoes every connection until l is closed.
func serveEcho(l net.Listener) { serveWith(l, func(c net.Conn) { _, _ = io.Copy(c, c) }) }

// serveWith accepts on l until it is closed and runs handle for each
// connection, which it closes after.
func serveWith(l net.Listener, handle func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			handle(c)
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
