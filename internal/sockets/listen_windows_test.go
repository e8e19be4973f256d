//go:build windows

package sockets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/wine"
)

func testPipeName(t *testing.T) string {
	return fmt.Sprintf(`\\.\pipe\berth-test-%d-%d`, os.Getpid(), time.Now().UnixNano())
}

// claimPlaceholder works around a Wine difference: under Wine the first
// client of a go-winio listener connects to the placeholder instance that
// reserves the name and is never accepted; the next client is. On Windows
// the first client is accepted, so this does nothing there.
func claimPlaceholder(t *testing.T, path string) {
	t.Helper()
	if !wine.Detected() {
		return
	}
	t.Log("Wine: dialing once to occupy go-winio's placeholder pipe instance")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
}

// servePipe listens on a new test pipe, serves each connection with
// handle until the test ends, and takes Wine's placeholder instance: the
// next Dial is accepted.
func servePipe(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	path := testPipeName(t)
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go serveWith(l, handle)
	claimPlaceholder(t, path)
	return path
}

func echo(c net.Conn) { _, _ = io.Copy(c, c) }

func TestPipeListenAndDial(t *testing.T) {
	path := servePipe(t, echo)
	roundTrip(t, path)
	roundTrip(t, path) // a second connection is served too
}

func TestPipeRefusesSecondListener(t *testing.T) {
	path := testPipeName(t)
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := Listen(path); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Listen: %v, want ErrInUse", err)
	}
}

func TestPipeGoneAfterClose(t *testing.T) {
	path := testPipeName(t)
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := Dial(ctx, path); err == nil {
		t.Fatal("Dial after Close succeeded")
	}
	l2, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen after Close: %v", err)
	}
	l2.Close()
}

func TestPipeRejectsFileName(t *testing.T) {
	if _, err := Listen(`C:\berth\agent.sock`); err == nil {
		t.Fatal("Listen accepted a file name on Windows")
	}
}

func TestCurrentUserSID(t *testing.T) {
	sid, err := UserSID()
	if err != nil {
		t.Fatal(err)
	}
	if len(sid) < 4 || sid[:4] != "S-1-" {
		t.Fatalf("SID = %q", sid)
	}
}
