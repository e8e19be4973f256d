package dashboard

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/coder/websocket"
	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/guest/agentapi"
)

// termMessage is what the page's terminal sends: keys typed (Input) or a
// new size.
type termMessage struct {
	Input string `json:"i,omitempty"`
	Cols  uint   `json:"cols,omitempty"`
	Rows  uint   `json:"rows,omitempty"`
}

// session is a command on a pty, whichever side runs it.
type session interface {
	// Read is the terminal's output; io.EOF once the command ended.
	io.Reader
	Input(b []byte) error
	Resize(ctx context.Context, cols, rows uint)
	// End says how the command ended, once Read gave io.EOF.
	End(ctx context.Context) string
	Close()
}

// The shells tried, in order, when the page asks for none: the first one
// the image has.
const defaultShell = `[ -x /bin/bash ] && exec /bin/bash; exec /bin/sh`

// containerTerminal runs a shell in a container on a pty: the engine's
// exec, attached through its hijacked connection.
func (s *Server) containerTerminal(w http.ResponseWriter, r *http.Request) {
	id, api := r.PathValue("id"), s.ec.API()
	size := client.ConsoleSize{Height: 24, Width: 80}
	ex, err := api.ExecCreate(r.Context(), id, client.ExecCreateOptions{
		TTY: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
		Env: []string{"TERM=xterm-256color"}, Cmd: []string{"sh", "-c", defaultShell}, ConsoleSize: size,
	})
	if err != nil {
		engineError(w, err)
		return
	}
	att, err := api.ExecAttach(r.Context(), ex.ID, client.ExecAttachOptions{TTY: true, ConsoleSize: size})
	if err != nil {
		engineError(w, err)
		return
	}
	s.carry(w, r, &engineExec{api: api, id: ex.ID, att: att})
}

type engineExec struct {
	api *client.Client
	id  string
	att client.ExecAttachResult
}

func (e *engineExec) Read(b []byte) (int, error) { return e.att.Reader.Read(b) }
func (e *engineExec) Input(b []byte) error {
	_, err := e.att.Conn.Write(b)
	return err
}

func (e *engineExec) Resize(ctx context.Context, cols, rows uint) {
	_, _ = e.api.ExecResize(ctx, e.id, client.ExecResizeOptions{Height: rows, Width: cols})
}

func (e *engineExec) End(ctx context.Context) string {
	in, err := e.api.ExecInspect(ctx, e.id, client.ExecInspectOptions{})
	if err != nil {
		return "the command ended"
	}
	return fmt.Sprintf("exit status %d", in.ExitCode)
}

func (e *engineExec) Close() { e.att.Close() }

// vmTerminal is `berth shell` in the page: a shell in the VM through the
// agent's exec (framed, see agentapi).
func (s *Server) vmTerminal(w http.ResponseWriter, r *http.Request) {
	conn, err := s.o.Agent.Exec(r.Context(), agentapi.ExecRequest{TTY: true, Rows: 24, Cols: 80, Term: "xterm-256color"})
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	s.carry(w, r, &guestExec{conn: conn})
}

type guestExec struct {
	conn    net.Conn
	pending []byte
	exit    *int
}

func (g *guestExec) Read(b []byte) (int, error) {
	for len(g.pending) == 0 {
		if g.exit != nil {
			return 0, io.EOF
		}
		typ, p, err := agentapi.ReadFrame(g.conn)
		if err != nil {
			return 0, err
		}
		switch typ {
		case agentapi.FrameOutput:
			g.pending = p
		case agentapi.FrameExit:
			code := -1
			if len(p) == 4 {
				code = int(int32(binary.BigEndian.Uint32(p)))
			}
			g.exit = &code
		}
	}
	n := copy(b, g.pending)
	g.pending = g.pending[n:]
	return n, nil
}

func (g *guestExec) Input(b []byte) error { return agentapi.WriteFrame(g.conn, agentapi.FrameStdin, b) }

func (g *guestExec) Resize(_ context.Context, cols, rows uint) {
	var p [4]byte
	binary.BigEndian.PutUint16(p[:2], uint16(min(rows, 65535)))
	binary.BigEndian.PutUint16(p[2:], uint16(min(cols, 65535)))
	_ = agentapi.WriteFrame(g.conn, agentapi.FrameResize, p[:])
}

func (g *guestExec) End(context.Context) string {
	if g.exit == nil {
		return "the shell ended"
	}
	return fmt.Sprintf("exit status %d", *g.exit)
}

func (g *guestExec) Close() { _ = g.conn.Close() }

// carry joins a session and the page's terminal over a WebSocket: binary
// messages are the output, text messages from the page termMessages. The
// handshake passed the guard (cookie, Host, Origin) like any request;
// Accept checks the Origin once more.
func (s *Server) carry(w http.ResponseWriter, r *http.Request, sess session) {
	defer sess.Close()
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept answered
	}
	defer func() { _ = ws.CloseNow() }()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// A page that leaves ends the command's input (a shell exits on it)
	// and the read below.
	go func() {
		<-ctx.Done()
		sess.Close()
	}()
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
			if m.Input != "" && sess.Input([]byte(m.Input)) != nil {
				return
			}
			if m.Cols > 0 && m.Rows > 0 {
				sess.Resize(ctx, m.Cols, m.Rows)
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := sess.Read(buf)
		if n > 0 {
			if werr := ws.Write(ctx, websocket.MessageBinary, buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			break
		}
	}
	reason := sess.End(context.WithoutCancel(ctx))
	if err := ws.Close(websocket.StatusNormalClosure, reason); err != nil && !errors.Is(err, context.Canceled) {
		s.o.Log.Debug("dashboard: closing a terminal", "err", err)
	}
}
