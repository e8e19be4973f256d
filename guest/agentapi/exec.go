package agentapi

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// PathExec runs a command in the guest (the host's `berth shell`). The
// request is an ExecRequest; the answer is 101 Switching Protocols, after
// which both directions carry frames (see WriteFrame).
const PathExec = "/v1/exec"

// ExecRequest asks for a command.
type ExecRequest struct {
	// Cmd and its arguments; empty means an interactive shell.
	Cmd []string `json:"cmd,omitempty"`
	// TTY runs the command on a pseudo-terminal of Rows×Cols.
	TTY  bool   `json:"tty,omitempty"`
	Rows uint16 `json:"rows,omitempty"`
	Cols uint16 `json:"cols,omitempty"`
	// Term is the client's TERM.
	Term string `json:"term,omitempty"`
}

// Frame types. Host→guest: FrameStdin, FrameStdinEOF, FrameResize.
// Guest→host: FrameOutput, FrameExit (a big-endian int32 exit code;
// 128+N for a command killed by signal N).
const (
	FrameStdin    byte = 0
	FrameStdinEOF byte = 1
	FrameResize   byte = 2 // rows, cols: two big-endian uint16
	FrameOutput   byte = 3
	FrameExit     byte = 4
)

// maxFrame bounds a frame's payload.
const maxFrame = 1 << 20

// WriteFrame writes one frame: type, big-endian uint32 length, payload.
func WriteFrame(w io.Writer, typ byte, payload []byte) error {
	var h [5]byte
	h[0] = typ
	binary.BigEndian.PutUint32(h[1:], uint32(len(payload)))
	if _, err := w.Write(append(h[:], payload...)); err != nil {
		return err
	}
	return nil
}

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (byte, []byte, error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("exec frame of %d bytes is too large", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		// A header without its payload is a cut frame, not the end.
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return h[0], b, nil
}

// ExitFrame encodes an exit code.
func ExitFrame(code int) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(int32(code)))
	return b[:]
}

// ExitCode decodes an exit frame's payload.
func ExitCode(p []byte) int {
	if len(p) != 4 {
		return -1
	}
	return int(int32(binary.BigEndian.Uint32(p)))
}

// Executor is the Backend ability to run commands; it returns the exit
// code, having read frames from in and written output frames to out.
type Executor interface {
	Exec(ctx context.Context, req ExecRequest, in io.Reader, out io.Writer) (int, error)
}

func serveExec(b Backend) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ex, ok := b.(Executor)
		if !ok {
			writeJSON(w, http.StatusNotImplemented, ErrorResponse{Message: "this guest cannot run commands"})
			return
		}
		var req ExecRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, ErrorResponse{Message: "exec request: " + err.Error()})
			return
		}
		conn, rw, ok := switchProtocols(w, "berth-exec")
		if !ok {
			return
		}
		defer conn.Close()
		code, err := ex.Exec(r.Context(), req, rw.Reader, conn)
		if err != nil {
			_ = WriteFrame(conn, FrameOutput, []byte("berth: "+err.Error()+"\r\n"))
			code = 127
		}
		_ = WriteFrame(conn, FrameExit, ExitFrame(code))
	}
}

// switchProtocols takes the connection over from the HTTP server and
// answers 101 Switching Protocols to proto; false when that failed (the
// client then saw an error, or the connection is gone).
func switchProtocols(w http.ResponseWriter, proto string) (net.Conn, *bufio.ReadWriter, bool) {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, ErrorResponse{Message: err.Error()})
		return nil, nil, false
	}
	if _, err := io.WriteString(rw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+proto+"\r\n\r\n"); err != nil {
		conn.Close()
		return nil, nil, false
	}
	if err := rw.Flush(); err != nil {
		conn.Close()
		return nil, nil, false
	}
	return conn, rw, true
}

// Exec starts a command and returns the frame stream.
func (c *Client) Exec(ctx context.Context, req ExecRequest) (net.Conn, error) {
	return DialExec(ctx, func(ctx context.Context) (net.Conn, error) {
		return c.dial(ctx, "tcp", agentAddr)
	}, "", PathExec, req)
}

// DialExec sends an exec request on a fresh connection and returns it
// once the server switched protocols. The host agent's control API
// speaks the same protocol, so the CLI uses this too.
func DialExec(ctx context.Context, dial func(context.Context) (net.Conn, error), host, path string, req ExecRequest) (net.Conn, error) {
	conn, err := dialUpgrade(ctx, dial, host, path, "berth-exec", req)
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	return conn, nil
}

// dialUpgrade posts req as JSON on a fresh connection asking to switch to
// proto, and returns the connection once the server switched.
func dialUpgrade(ctx context.Context, dial func(context.Context) (net.Conn, error), host, path, proto string, req any) (net.Conn, error) {
	conn, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(req)
	if host == "" {
		host = "guest"
	}
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n%s", path, host, len(body), proto, body)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		conn.Close()
		var e ErrorResponse
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			return nil, errors.New(e.Message)
		}
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	// A 101 has no body: what follows is the new protocol, on conn.
	_ = resp.Body.Close()
	if br.Buffered() > 0 {
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// CloseWrite half-closes the connection underneath, where it can.
func (b *bufferedConn) CloseWrite() error {
	if cw, ok := b.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return b.Close()
}
