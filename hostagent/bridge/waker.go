package bridge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// Waker is told when a user reaches the engine, so a paused VM (the
// resource saver) is resumed before anything is carried to it.
type Waker interface {
	// Wake resumes the VM if it is paused and counts as activity; the
	// bridge calls it for each connection before it dials the engine, and
	// for each request before it is sent.
	Wake(ctx context.Context) error
	// Busy keeps the VM awake until done is called: the bridge holds it
	// while a request is in flight (from its header until the end of its
	// response), except for the requests that watch (see Watches).
	Busy() (done func())
}

// WithWaker makes the bridge wake w for each connection and request, and
// follow the responses' framing to know when each request ends (their
// bytes still pass unchanged). Call it before Serve.
func (b *Bridge) WithWaker(w Waker) *Bridge {
	b.waker = w
	return b
}

var (
	eventsPath = regexp.MustCompile(`^(/v[0-9.]+)?/events$`)
	logsPath   = regexp.MustCompile(`^(/v[0-9.]+)?/containers/[^/]+/logs$`)
	statsPath  = regexp.MustCompile(`^(/v[0-9.]+)?/containers/[^/]+/stats$`)
	attachPath = regexp.MustCompile(`^(/v[0-9.]+)?/containers/[^/]+/attach(/ws)?$`)
)

// Watches reports whether a request only waits for what the engine may
// say, for as long as it likes: the event stream, followed logs, streamed
// stats, attach. An open one does not keep the VM awake: a tray's event
// stream would keep it awake for ever. It stalls while the VM is paused.
func Watches(req *http.Request) bool {
	p := req.URL.Path
	q := req.URL.Query()
	switch {
	case req.Method == http.MethodGet && eventsPath.MatchString(p):
		return true
	case req.Method == http.MethodGet && logsPath.MatchString(p):
		return truthy(q.Get("follow"), false)
	case req.Method == http.MethodGet && statsPath.MatchString(p):
		return truthy(q.Get("stream"), true)
	case attachPath.MatchString(p):
		return true
	}
	return false
}

// truthy reads a docker API boolean query value; def when absent.
func truthy(v string, def bool) bool {
	switch strings.ToLower(v) {
	case "":
		return def
	case "0", "false", "no":
		return false
	}
	return true
}

// inflight follows one connection's requests until their responses end.
type inflight struct {
	ctx   context.Context
	waker Waker

	mu      sync.Mutex
	pending []pendingRequest
	opaque  []func() // held until the connection ends
}

type pendingRequest struct {
	method string
	done   func() // nil for a watch
}

func newInflight(ctx context.Context, w Waker) *inflight {
	return &inflight{ctx: ctx, waker: w}
}

// request is called before a request is sent to the engine: it wakes the
// VM and, unless the request watches, holds it awake until its response
// ends.
func (t *inflight) request(req *http.Request) error {
	if err := t.waker.Wake(t.ctx); err != nil {
		return err
	}
	p := pendingRequest{method: req.Method}
	if !Watches(req) {
		p.done = t.waker.Busy()
	}
	t.mu.Lock()
	t.pending = append(t.pending, p)
	t.mu.Unlock()
	return nil
}

// hold keeps the VM awake until the connection ends: what the bridge
// carries without reading it as requests.
func (t *inflight) hold() {
	done := t.waker.Busy()
	t.mu.Lock()
	t.opaque = append(t.opaque, done)
	t.mu.Unlock()
}

// front is the method of the oldest request without a response.
func (t *inflight) front() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) == 0 {
		return ""
	}
	return t.pending[0].method
}

// answered ends the oldest request.
func (t *inflight) answered() {
	t.mu.Lock()
	if len(t.pending) == 0 {
		t.mu.Unlock()
		return
	}
	p := t.pending[0]
	t.pending = t.pending[1:]
	t.mu.Unlock()
	if p.done != nil {
		p.done()
	}
}

// close ends whatever is still in flight: the connection is gone.
func (t *inflight) close() {
	t.mu.Lock()
	pending, opaque := t.pending, t.opaque
	t.pending, t.opaque = nil, nil
	t.mu.Unlock()
	for _, p := range pending {
		if p.done != nil {
			p.done()
		}
	}
	for _, done := range opaque {
		done()
	}
}

// responses copies the engine's responses to the client byte for byte,
// reading each one's framing to know when its request ended. A response
// it cannot frame, a switch of protocols or a body that ends with the
// connection is copied to the end.
func (t *inflight) responses(dst io.Writer, src *bufio.Reader) error {
	for {
		raw, err := readHeader(src)
		if len(raw) == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return rawCopy(dst, raw, src)
		}
		if _, err := dst.Write(raw); err != nil {
			return err
		}
		if isEmptyLine(raw) {
			continue
		}
		resp, perr := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
		if perr != nil {
			_, err := io.Copy(dst, src)
			return err
		}
		// Only its header was read; the body passes below, from src.
		_ = resp.Body.Close()
		code := resp.StatusCode
		switch {
		case code == http.StatusSwitchingProtocols:
			_, err := io.Copy(dst, src)
			return err
		case code >= 100 && code < 200:
			continue // informational: the final answer follows
		case t.front() == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified:
		case len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] == "chunked":
			if err := copyBody(dst, src, framing{chunked: true}); err != nil {
				return copyRest(dst, src)
			}
		case len(resp.TransferEncoding) == 0 && resp.ContentLength >= 0:
			if err := copyBody(dst, src, framing{length: resp.ContentLength}); err != nil {
				return copyRest(dst, src)
			}
		default:
			// Delimited by the end of the connection (attach's raw stream).
			_, err := io.Copy(dst, src)
			return err
		}
		t.answered()
	}
}

// copyRest copies what follows a body the bridge could not follow (a bad
// chunk line, or the connection ending in it): every byte still reaches
// the client, and the requests in flight stay so until the connection ends.
func copyRest(dst io.Writer, src io.Reader) error {
	_, err := io.Copy(dst, src)
	return err
}
