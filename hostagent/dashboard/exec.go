package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/coder/websocket"
	"github.com/moby/moby/client"
)

// termMessage is what the page's terminal sends: keys typed (Input) or a
// new size.
type termMessage struct {
	Input string `json:"i,omitempty"`
	Cols  uint   `json:"cols,omitempty"`
	Rows  uint   `json:"rows,omitempty"`
}

// The shells tried, in order, when the page asks for none: the first one
// the image has.
const defaultShell = `[ -x /bin/bash ] && exec /bin/bash; exec /bin/sh`

// execTerminal runs a command in a container on a pty (the engine's exec,
// attached through its hijacked connection) and carries it over a
// WebSocket: binary messages are the terminal's output, text messages
// from the page are termMessages. The WebSocket's handshake passed the
// guard (cookie, Host, Origin) like any request; Accept checks the Origin
// once more.
func (s *Server) execTerminal(w http.ResponseWriter, r *http.Request) {
	id, api := r.PathValue("id"), s.ec.API()
	cmd := []string{"sh", "-c", defaultShell}
	if c := strings.TrimSpace(r.URL.Query().Get("cmd")); c != "" {
		cmd = []string{"sh", "-c", c}
	}
	size := client.ConsoleSize{Height: 24, Width: 80}
	ctx := r.Context()
	ex, err := api.ExecCreate(ctx, id, client.ExecCreateOptions{
		TTY: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
		Env: []string{"TERM=xterm-256color"}, Cmd: cmd, ConsoleSize: size,
	})
	if err != nil {
		engineError(w, err)
		return
	}
	att, err := api.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{TTY: true, ConsoleSize: size})
	if err != nil {
		engineError(w, err)
		return
	}
	defer att.Close()
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept answered
	}
	defer func() { _ = ws.CloseNow() }()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A page that leaves ends the exec's input (a shell exits on it) and
	// the read below.
	go func() {
		<-ctx.Done()
		att.Close()
	}()

	// The page's keys and sizes into the exec.
	go func() {
		defer cancel()
		for {
			typ, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var m termMessage
			if typ != websocket.MessageText || json.Unmarshal(b, &m) != nil {
				continue
			}
			if m.Input != "" {
				if _, err := att.Conn.Write([]byte(m.Input)); err != nil {
					return
				}
			}
			if m.Cols > 0 && m.Rows > 0 {
				_, _ = api.ExecResize(ctx, ex.ID, client.ExecResizeOptions{Height: m.Rows, Width: m.Cols})
			}
		}
	}()
	// The exec's output to the page, until it ends.
	buf := make([]byte, 32<<10)
	for {
		n, err := att.Reader.Read(buf)
		if n > 0 {
			if werr := ws.Write(ctx, websocket.MessageBinary, buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			break
		}
	}
	reason := "the command ended"
	if in, err := api.ExecInspect(context.WithoutCancel(ctx), ex.ID, client.ExecInspectOptions{}); err == nil {
		reason = fmt.Sprintf("exit status %d", in.ExitCode)
	}
	if err := ws.Close(websocket.StatusNormalClosure, reason); err != nil && !errors.Is(err, context.Canceled) {
		s.o.Log.Debug("dashboard: closing a terminal", "err", err)
	}
}
