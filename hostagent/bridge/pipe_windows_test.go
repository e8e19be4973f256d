//go:build windows

package bridge

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/internal/wine"
	"github.com/berth-dev/berth/store"
)

// TestBridgeOverPipe runs the real bridge from a Berth docker pipe (its
// store name, owner-only, message mode, through sockets.Listen) to an
// engine stand-in (an HTTP server on 127.0.0.1 answering /_ping as dockerd
// does), and drives it the way the docker CLI does: a ping, a chunked
// upload checked by hash (every byte passes), and a hijacked stream whose
// client half-closes (the pipe's CloseWrite reaches the stand-in, and the
// answer still comes back). Clients dial with sockets.Dial, so the owner
// check is on the way.
func TestBridgeOverPipe(t *testing.T) {
	sid, err := sockets.UserSID()
	if err != nil {
		t.Fatal(err)
	}
	pipe := store.PipeName(fmt.Sprintf("bridgetest-%d", os.Getpid()), "docker", sid)
	engineLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fakeEngineOn(t, engineLn)
	ln, err := sockets.Listen(pipe)
	if err != nil {
		t.Fatal(err)
	}
	b := New(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", engineLn.Addr().String())
	}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, ln) }()
	dial := func(ctx context.Context) (net.Conn, error) { return sockets.Dial(ctx, pipe) }
	if wine.Detected() {
		// Wine parks the first client of a go-winio pipe on its placeholder
		// instance, never accepted (see internal/sockets' tests).
		c, err := dial(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
	}}

	resp, err := hc.Get("http://docker/_ping")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "OK" || resp.Header.Get("Api-Version") != "1.47" || resp.Header.Get("Ostype") != "linux" {
		t.Fatalf("ping through %s: %q %v", pipe, body, resp.Header)
	}

	const size = 8 << 20
	pr, pw := io.Pipe()
	h := sha256.New()
	go func() {
		chunk := make([]byte, 256<<10)
		for i := range chunk {
			chunk[i] = byte(i * 7)
		}
		for range size / len(chunk) {
			h.Write(chunk)
			pw.Write(chunk)
		}
		pw.Close()
	}()
	resp, err = hc.Post("http://docker/upload", "application/x-tar", pr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("%d %s", size, hex.EncodeToString(h.Sum(nil))); string(body) != want {
		t.Fatalf("upload: the stand-in saw %q, want %q", body, want)
	}

	conn, err := dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /attach HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	r := bufio.NewReader(conn)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	status, _ := r.ReadString('\n')
	if !strings.Contains(status, "101") {
		t.Fatalf("attach status %q", status)
	}
	for {
		l, _ := r.ReadString('\n')
		if l == "\r\n" || l == "" {
			break
		}
	}
	io.WriteString(conn, "hello stdin")
	cw, ok := conn.(interface{ CloseWrite() error })
	if !ok {
		t.Fatalf("%T has no CloseWrite: the docker pipe is not message mode", conn)
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil || string(rest) != "HELLO STDIN|EOF" {
		t.Fatalf("hijacked stream after half-close: %q, %v", rest, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the bridge did not stop")
	}
}
