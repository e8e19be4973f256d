package hostagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/hostagent/bridge"
	"github.com/berth-dev/berth/internal/engineswitch"
	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/internal/wine"
)

// POST /v1/default-engine through the agent's API client: 409 while the
// agent serves no default pipe, then the router re-pointed and the status
// saying so; a bad engine or an unknown field refused by name.
func TestDefaultEngineAPI(t *testing.T) {
	a := testAgent()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	if runtime.GOOS == "windows" {
		sock = fmt.Sprintf(`\\.\pipe\berth-defaultengine-test-%d`, os.Getpid())
	}
	ln, err := sockets.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	ctx := context.Background()
	if wine.Detected() {
		// Wine parks a go-winio pipe's first client on its placeholder
		// instance, never accepted.
		c, err := sockets.Dial(ctx, sock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	c := api.NewClient(sock)

	if err := c.SetDefaultEngine(ctx, "windows"); !errors.Is(err, api.ErrDefaultNotServed) {
		t.Fatalf("without a router: %v", err)
	}
	dflt, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dflt.Close()
	r := engineswitch.NewRouter(dflt, engineswitch.Linux)
	a.mu.Lock()
	a.router = r
	a.mu.Unlock()
	if err := c.SetDefaultEngine(ctx, "windows"); err != nil {
		t.Fatal(err)
	}
	if r.Current() != engineswitch.Windows || a.snapshot().DefaultEngine != "windows" {
		t.Fatalf("router %s, status %q", r.Current(), a.snapshot().DefaultEngine)
	}
	if err := c.SetDefaultEngine(ctx, "macos"); err == nil || !strings.Contains(err.Error(), `engine "macos": linux or windows`) {
		t.Fatalf("bad engine: %v", err)
	}
	if r.Current() != engineswitch.Windows {
		t.Fatal("a refused request moved the route")
	}
}

// serveDocker with both engines: the machine's own endpoint always
// reaches the Linux engine; docker's default starts with the engine of
// the current docker context (berth-windows here), follows a switch, and
// a connection opened before the switch stays on its engine. Without a
// Windows engine the default endpoint is the Linux engine's, unrouted.
func TestServeDockerRoutesTheDefault(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfg)
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"currentContext":"berth-windows"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	engine := func(name string) bridge.Dialer {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, name)
		})}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { srv.Close() })
		return func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", ln.Addr().String())
		}
	}
	linuxEngine, windowsEngine := engine("linux"), engine("windows")
	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}
	ask := func(ln net.Listener, keep *http.Client) string {
		t.Helper()
		hc := keep
		if hc == nil {
			hc = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		}
		resp, err := hc.Get("http://" + ln.Addr().String() + "/version")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	a := testAgent()
	linux := func() *bridge.Bridge { return bridge.New(linuxEngine, a.log) }
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	own, dflt := listen(), listen()
	a.serveDocker(ctx, []net.Listener{own, dflt}, linux, windowsEngine, &wg)
	t.Cleanup(func() { cancel(); wg.Wait() })

	if st := a.snapshot().DefaultEngine; st != "windows" {
		t.Fatalf("status defaultEngine %q, want windows (the current context)", st)
	}
	if got := ask(own, nil); got != "linux" {
		t.Fatalf("own endpoint reached %q", got)
	}
	keep := &http.Client{Timeout: 10 * time.Second} // one connection, kept
	if got := ask(dflt, keep); got != "windows" {
		t.Fatalf("default endpoint reached %q, want windows", got)
	}
	a.mu.Lock()
	r := a.router
	a.mu.Unlock()
	r.Switch(engineswitch.Linux)
	if got := ask(dflt, nil); got != "linux" {
		t.Fatalf("after the switch a new connection reached %q", got)
	}
	if got := ask(dflt, keep); got != "windows" {
		t.Fatalf("the connection open before the switch moved to %q", got)
	}
	if got := ask(own, nil); got != "linux" {
		t.Fatalf("own endpoint reached %q", got)
	}

	// No Windows engine: both endpoints are the Linux engine's, no router.
	b := testAgent()
	own2, dflt2 := listen(), listen()
	b.serveDocker(ctx, []net.Listener{own2, dflt2}, func() *bridge.Bridge { return bridge.New(linuxEngine, b.log) }, nil, &wg)
	if got := ask(dflt2, nil); got != "linux" || b.router != nil || b.snapshot().DefaultEngine != "" {
		t.Fatalf("without a Windows engine: %q, router %v, status %q", got, b.router, b.snapshot().DefaultEngine)
	}
}
