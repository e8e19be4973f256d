package hostagent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
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
