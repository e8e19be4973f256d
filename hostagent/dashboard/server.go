// Package dashboard is the web page of a machine: its state and settings,
// containers (grouped by Compose project, with their logs, inspect and
// actions) and port forwards, served by the host agent on host loopback to
// the owning user only (see guard.go). Every asset is embedded; nothing is
// fetched from the internet.
//
// It is a client of the agent's control API (status, the /v1/events
// stream, forwards, stop) and of the engine through the machine's docker
// socket, with github.com/moby/moby/client: what the page shows is what
// `berth status`, `berth ports` and the docker CLI see, and the resource
// saver treats the page's requests as it treats any docker client's. The
// page never polls: /api/events pushes every change.
package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/portfwd"
)

//go:embed static
var static embed.FS

// Agent is what the page needs of the machine's host agent: its control
// API (the real one is an *api.Client on the agent's socket).
type Agent interface {
	Status(ctx context.Context) (*api.Status, error)
	Events(ctx context.Context, fn func(api.Event) error) error
	// StopStandby stops the machine and keeps the agent (and this page)
	// up while a page is open; Start starts it again there; Restart stops
	// and boots it again in the same agent (an invalid config is refused
	// with an *api.Error of code 400, and nothing stops).
	StopStandby(ctx context.Context) error
	Start(ctx context.Context, req api.StartRequest) error
	Restart(ctx context.Context) error
	Forwards(ctx context.Context) ([]portfwd.Forward, error)
	AddForward(ctx context.Context, spec string) ([]portfwd.Forward, error)
	RemoveForward(ctx context.Context, spec string) error
	PauseForward(ctx context.Context, proto portfwd.Proto, hostPort int) error
	ResumeForward(ctx context.Context, proto portfwd.Proto, hostPort int) error
	// Exec runs a command in the VM (berth shell); the connection carries
	// agentapi's exec frames.
	Exec(ctx context.Context, req agentapi.ExecRequest) (net.Conn, error)
}

// Options configure the page's server.
type Options struct {
	// Port on 127.0.0.1; 0 picks a free one.
	Port  int
	Agent Agent
	// Docker dials the engine's API (the machine's docker socket).
	Docker engine.Dialer
	// ConfigPath is the user's config file, for the settings; Host is
	// this host as the config's validation sees it.
	ConfigPath string
	Host       config.Host
	// DataDisk is the machine's data disk file, whose size on the host
	// the disk usage shows ("" when the driver keeps its own).
	DataDisk string
	Log      *slog.Logger
}

// Server serves one machine's page until Close.
type Server struct {
	o     Options
	ln    net.Listener
	srv   *http.Server
	port  int
	token string
	ec    *engine.Client
	done  chan struct{}
	pages pages

	closeOnce sync.Once
}

// Start listens on 127.0.0.1 (only there: the page is the owning user's)
// and serves the page.
func Start(o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Port < 0 || o.Port > 65535 {
		return nil, fmt.Errorf("dashboard.port: %d is not a port", o.Port)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port)))
	if err != nil {
		return nil, fmt.Errorf("dashboard: listening on 127.0.0.1:%d (dashboard.port in the config): %w", o.Port, err)
	}
	ec, err := engine.New(o.Docker)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{o: o, ln: ln, port: ln.Addr().(*net.TCPAddr).Port, token: newToken(), ec: ec, done: make(chan struct{})}
	s.srv = &http.Server{Handler: guard(s.port, s.token, s.routes()), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.Log.Error("dashboard stopped", "err", err)
		}
	}()
	return s, nil
}

// URL is the page's address with this start's token: for the owning user
// only (the control API hands it out).
func (s *Server) URL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/?token=%s", s.port, s.token)
}

// Port is the port the page listens on.
func (s *Server) Port() int { return s.port }

// Close stops serving; open streams end.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.srv.Shutdown(ctx)
		_ = s.srv.Close()
		_ = s.ln.Close()
		<-s.done
		_ = s.ec.Close()
	})
	return nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	sub, _ := fs.Sub(static, "static")
	mux.Handle("GET /", http.FileServerFS(sub))
	mux.HandleFunc("GET /api/machine", s.machine)
	mux.HandleFunc("GET /api/events", s.events)
	mux.HandleFunc("GET /api/machine/shell", s.vmTerminal)
	s.machineRoutes(mux)
	s.containerRoutes(mux)
	s.settingsRoutes(mux)
	s.portRoutes(mux)
	s.resourceRoutes(mux)
	return mux
}

// pages counts the open pages (their event streams), for the agent that
// keeps a stopped machine's page up while one is open.
type pages struct {
	mu      sync.Mutex
	n       int
	changed chan struct{}
}

// add counts d more pages, and returns how many are open.
func (p *pages) add(d int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += d
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
	return p.n
}

// Pages is how many pages are open now, and a channel closed at the next
// change.
func (s *Server) Pages() (n int, changed <-chan struct{}) {
	s.pages.mu.Lock()
	defer s.pages.mu.Unlock()
	if s.pages.changed == nil {
		s.pages.changed = make(chan struct{})
	}
	return s.pages.n, s.pages.changed
}
