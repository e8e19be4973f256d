package agentapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeBackend struct {
	mu        sync.Mutex
	shutdowns []string
}

func (f *fakeBackend) Health(context.Context) Health {
	return Health{
		Engine:   Engine{State: EngineFailed, Reason: "data disk: unknown content"},
		Dockerd:  ProcessStatus{State: "not-started"},
		DataDisk: DataDisk{Device: "/dev/vdb", State: DiskFailed, Error: "refusing to format"},
	}
}

func (f *fakeBackend) Shutdown(reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shutdowns = append(f.shutdowns, reason)
}

// pipeListener hands out one end of a net.Pipe per dial: no network at all,
// like the host agent's in-process virtual network.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.UnixAddr{Name: "pipe", Net: "pipe"} }

func (l *pipeListener) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if network != "tcp" || addr != "192.168.127.2:2380" {
		return nil, errors.New("unexpected address " + network + " " + addr)
	}
	c, s := net.Pipe()
	select {
	case l.conns <- s:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func serve(t *testing.T, b Backend) *Client {
	t.Helper()
	l := newPipeListener()
	srv := &http.Server{Handler: NewHandler(b)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return NewClient(l.dial)
}

func TestHealthAndShutdownOverPipe(t *testing.T) {
	b := &fakeBackend{}
	c := serve(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	h, err := c.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.Engine.State != EngineFailed || h.DataDisk.Error != "refusing to format" {
		t.Fatalf("unexpected health %+v", h)
	}
	for range 2 {
		if err := c.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.shutdowns) != 2 {
		t.Fatalf("backend saw %d shutdowns, want 2", len(b.shutdowns))
	}
}

func TestClientReportsServerError(t *testing.T) {
	l := newPipeListener()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusInternalServerError, ErrorResponse{Message: "boom"})
	})}
	go srv.Serve(l)
	defer srv.Close()
	_, err := NewClient(l.dial).Health(context.Background())
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "500") {
		t.Fatalf("error = %v, want the server's message and status", err)
	}
}

func TestWrongMethodIsRejected(t *testing.T) {
	l := newPipeListener()
	srv := &http.Server{Handler: NewHandler(&fakeBackend{})}
	go srv.Serve(l)
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{DialContext: l.dial}}
	resp, err := hc.Get("http://192.168.127.2:2380" + PathShutdown)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET shutdown: %s, want 405", resp.Status)
	}
}

func TestDialErrorIsWrapped(t *testing.T) {
	c := NewClient(func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, errors.New("vm not running")
	})
	if err := c.Shutdown(context.Background()); err == nil || !strings.Contains(err.Error(), "vm not running") {
		t.Fatalf("error = %v", err)
	}
}
