package engineswitch

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/bridge"
	"github.com/berth-dev/berth/internal/dockercontext"
	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/internal/wine"
)

// endpoint is a Berth endpoint for this test: a named pipe on Windows, a
// unix socket elsewhere.
func endpoint(t *testing.T, dir, name string) string {
	if runtime.GOOS == "windows" {
		return fmt.Sprintf(`\\.\pipe\berth-switchtest-%d-%s`, os.Getpid(), name)
	}
	return filepath.Join(dir, name+".sock")
}

// TestSwitchSoak runs both engines side by side as stand-in processes, and
// Docker's default endpoint through the Router to the real bridges (the
// Linux one with its bind rewrite, the Windows one without), then switches
// 50 times with the Switcher as `berth switch` does: each switch under a
// second, each followed by a /version through the default endpoint that
// the new engine answers and the docker context of that engine. Two
// requests in flight across the switches (one begun on each engine)
// finish on the engine they began on. Afterwards no process, endpoint,
// engine connection or context is left over.
func TestSwitchSoak(t *testing.T) {
	dir := shortTempDir(t)
	before := children(t)
	engines := map[Engine]*standIn{
		Linux:   startStandIn(t, "linux", endpoint(t, dir, "linux")),
		Windows: startStandIn(t, "windows", endpoint(t, dir, "windows")),
	}
	if before >= 0 {
		if n := children(t); n != before+2 {
			t.Fatalf("%d child processes with the two stand-ins, want %d", n, before+2)
		}
	}

	front := endpoint(t, dir, "default")
	ln, err := sockets.Listen(front)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	linuxBridge := bridge.New(engines[Linux].dial, log).WithPaths(&bridge.Paths{GuestOnly: bridge.DefaultGuestOnly})
	windowsBridge := bridge.New(engines[Windows].dial, log)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	router := Start(ctx, ln, Linux, linuxBridge, windowsBridge, &wg)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			wg.Wait()
		}
	}
	t.Cleanup(stop)
	dialFront := func(ctx context.Context) (net.Conn, error) { return sockets.Dial(ctx, front) }
	if wine.Detected() {
		c, err := dialFront(ctx) // parked on go-winio's placeholder instance
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return dialFront(ctx) },
		DisableKeepAlives: true,
	}}

	cfg := filepath.Join(dir, "docker")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"auths":{"r.test":{}},"currentContext":"berth-linux"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	sw := Switcher{
		DockerConfig: cfg, LinuxHost: "npipe:////./pipe/berth-default-S-1-5-21-1-2-3-1001", WindowsHost: "npipe:////./pipe/berth-windows-engine",
		Ready: func(ctx context.Context, e Engine) error { return Ping(ctx, engines[e].dial) },
		Route: func(_ context.Context, e Engine) error { router.Switch(e); return nil },
	}

	inflight := []*slowRequest{startSlow(t, hc)} // begun on Linux
	var took []time.Duration
	for i := range 50 {
		want := Windows
		if i%2 == 1 {
			want = Linux
		}
		res, err := sw.Switch(ctx, want)
		if err != nil {
			t.Fatalf("switch %d to %s: %v", i, want, err)
		}
		took = append(took, res.Took)
		if !res.Routed || res.Took >= time.Second {
			t.Fatalf("switch %d: %+v", i, res)
		}
		if got := versionOS(t, hc); got != string(want) {
			t.Fatalf("after switch %d to %s the default endpoint reached %q", i, want, got)
		}
		if cur, err := dockercontext.Current(cfg); err != nil || cur != want.Context() {
			t.Fatalf("after switch %d: docker context %q, %v", i, cur, err)
		}
		if i == 0 {
			inflight = append(inflight, startSlow(t, hc)) // begun on Windows
		}
	}
	for i, e := range []Engine{Linux, Windows} {
		release(t, engines[e])
		if got := inflight[i].finish(t); got != string(e) {
			t.Errorf("a request begun on %s finished on %q", e, got)
		}
	}
	slices.Sort(took)
	t.Logf("50 switches: median %s, max %s", took[len(took)/2], took[len(took)-1])

	stop()
	// Nothing left: the default endpoint is gone, the engines hold no
	// connection of ours, the switches started no process, and the
	// docker configuration holds the two contexts only.
	gctx, gcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer gcancel()
	if c, err := sockets.Dial(gctx, front); err == nil {
		c.Close()
		t.Errorf("%s still answers after the router stopped", front)
	}
	for e, s := range engines {
		if n := openConns(t, s); n != "0" {
			t.Errorf("the %s engine still has %s connections open", e, n)
		}
	}
	if before >= 0 {
		if n := children(t); n != before+2 {
			t.Errorf("%d child processes after the soak, want the two stand-ins (%d)", n, before+2)
		}
	}
	metas, _ := filepath.Glob(filepath.Join(cfg, "contexts", "meta", "*", "meta.json"))
	var names []string
	for _, m := range metas {
		var v struct{ Name string }
		b, _ := os.ReadFile(m)
		_ = json.Unmarshal(b, &v)
		names = append(names, v.Name)
	}
	slices.Sort(names)
	if fmt.Sprint(names) != "[berth-linux berth-windows]" {
		t.Errorf("contexts after the soak: %v", names)
	}
	if b, _ := os.ReadFile(filepath.Join(cfg, "config.json")); !strings.Contains(string(b), "r.test") {
		t.Errorf("config.json lost the user's settings: %s", b)
	}
	for _, s := range engines {
		s.stop()
	}
	if before >= 0 {
		if n := children(t); n != before {
			t.Errorf("%d child processes after the stand-ins stopped, want %d", n, before)
		}
	}
}

func versionOS(t *testing.T, hc *http.Client) string {
	t.Helper()
	resp, err := hc.Get("http://docker/version")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Os string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Os
}

// slowRequest is a /slow request whose answer has begun.
type slowRequest struct {
	resp *http.Response
	r    *bufio.Reader
}

func startSlow(t *testing.T, hc *http.Client) *slowRequest {
	t.Helper()
	resp, err := hc.Get("http://docker/slow")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	r := bufio.NewReader(resp.Body)
	if line, err := r.ReadString('\n'); err != nil || line != "started\n" {
		t.Fatalf("/slow began with %q, %v", line, err)
	}
	return &slowRequest{resp: resp, r: r}
}

func (s *slowRequest) finish(t *testing.T) string {
	t.Helper()
	b, err := io.ReadAll(s.r)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// direct is a client of one stand-in, not through the router.
func direct(s *standIn) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return s.dial(ctx) },
		DisableKeepAlives: true,
	}}
}

func release(t *testing.T, s *standIn) {
	t.Helper()
	resp, err := direct(s).Post("http://docker/release", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func openConns(t *testing.T, s *standIn) string {
	t.Helper()
	// The stand-in may not have seen the last close yet.
	var last string
	for range 50 {
		resp, err := direct(s).Get("http://docker/conns")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if last = string(b); last == "0" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return last
}

// shortTempDir is a temporary directory with a path short enough for unix
// sockets.
func shortTempDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "sw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
