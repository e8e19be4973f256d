//go:build windows

package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
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

	checkPing(t, hc)
	checkUpload(t, hc, 8<<20, 256<<10)
	conn, err := dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	checkHalfClose(t, conn)

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
