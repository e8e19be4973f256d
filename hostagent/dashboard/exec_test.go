package dashboard

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The terminal: an exec on a pty, attached, carried over a WebSocket both
// ways; sizes go to the engine; the exec's end closes the socket with its
// exit status; a handshake from another origin, or without the cookie,
// gets nothing.
func TestExecTerminal(t *testing.T) {
	f, dial := newFakeEngine(t)
	_, p := startPage(t, f, dial, &fakeAgent{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(p.base, "http") + "/api/containers/c1/exec"
	hdr := http.Header{"Origin": {p.base}}
	ws, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: p.hc, HTTPHeader: hdr})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	read := func(want string) {
		t.Helper()
		var got string
		for !strings.Contains(got, want) {
			_, b, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("reading the terminal: %v (got %q, want %q)", err, got, want)
			}
			got += string(b)
		}
	}
	read("$ ")
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"cols":120,"rows":40}`)); err != nil {
		t.Fatal(err)
	}
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"i":"uname\r"}`)); err != nil {
		t.Fatal(err)
	}
	read("ran uname")
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"i":"exit\r"}`)); err != nil {
		t.Fatal(err)
	}
	var ce websocket.CloseError
	for {
		if _, _, err = ws.Read(ctx); err != nil {
			break
		}
	}
	if !errors.As(err, &ce) || ce.Code != websocket.StatusNormalClosure || ce.Reason != "exit status 3" {
		t.Errorf("the end: %v, want a normal close with the exit status", err)
	}
	calls := f.callLog()
	if !slices.Contains(calls, `exec c1 tty=true ["sh" "-c" "`+defaultShell+`"]`) || !slices.Contains(calls, "resize h=40 w=120") {
		t.Errorf("engine calls %q", calls)
	}

	for name, o := range map[string]*websocket.DialOptions{
		"another origin": {HTTPClient: p.hc, HTTPHeader: http.Header{"Origin": {"http://evil.example"}}},
		"no cookie":      {HTTPHeader: hdr},
	} {
		c, resp, err := websocket.Dial(ctx, wsURL, o)
		if err == nil {
			c.CloseNow()
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %v, %v; want 403", name, resp, err)
		}
	}
}
