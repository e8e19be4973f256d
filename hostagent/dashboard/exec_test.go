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
	code := terminalSession(ctx, t, p, wsURL, "$ ")
	if code != "exit status 3" {
		t.Errorf("the end: %q, want the exec's exit status", code)
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

// The VM's shell (berth shell) in the page: the agent's framed exec.
func TestVMTerminal(t *testing.T) {
	f, dial := newFakeEngine(t)
	agent := &fakeAgent{}
	_, p := startPage(t, f, dial, agent)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if code := terminalSession(ctx, t, p, "ws"+strings.TrimPrefix(p.base, "http")+"/api/machine/shell", "vm$ "); code != "exit status 7" {
		t.Errorf("the end: %q, want the shell's exit status", code)
	}
	agent.mu.Lock()
	defer agent.mu.Unlock()
	if want := []string{"exec tty=true 80x24 xterm-256color", "resize 40 rows 120 cols"}; !slices.Equal(agent.calls, want) {
		t.Errorf("agent calls %q, want %q", agent.calls, want)
	}
}

// terminalSession opens a terminal, waits for the prompt, resizes it to
// 120×40, runs uname, exits, and returns the close reason.
func terminalSession(ctx context.Context, t *testing.T, p *page, wsURL, prompt string) string {
	t.Helper()
	ws, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: p.hc, HTTPHeader: http.Header{"Origin": {p.base}}})
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
	read(prompt)
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
	if !errors.As(err, &ce) || ce.Code != websocket.StatusNormalClosure {
		t.Errorf("the end: %v, want a normal close", err)
	}
	return ce.Reason
}
