package engineswitch

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/internal/wine"
)

// The engine stand-ins are this test binary run again with
// BERTH_ENGINE_STANDIN=<name>=<endpoint>: a process that serves, on a
// Berth endpoint (a unix socket; a named pipe on Windows, message mode and
// owner-only as dockerd's), what the switch and the soak ask an engine:
// /_ping, /version (whose Os is the stand-in's name), /slow (its headers
// and "started" at once, its name once /release came), and /conns (its
// connections open besides this one).
func TestMain(m *testing.M) {
	if v := os.Getenv("BERTH_ENGINE_STANDIN"); v != "" {
		name, endpoint, _ := strings.Cut(v, "=")
		if err := serveStandIn(name, endpoint); err != nil {
			fmt.Fprintln(os.Stderr, "engine stand-in:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func serveStandIn(name, endpoint string) error {
	ln, err := sockets.Listen(endpoint)
	if err != nil {
		return err
	}
	var open atomic.Int64
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ping", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "OK") })
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"Os": name, "Version": "stand-in"})
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "started")
		w.(http.Flusher).Flush()
		<-release
		fmt.Fprintln(w, name)
	})
	mux.HandleFunc("POST /release", func(http.ResponseWriter, *http.Request) { close(release) })
	mux.HandleFunc("GET /conns", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, open.Load()-1) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ConnState: func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}}
	return srv.Serve(ln)
}

// standIn is one engine stand-in process.
type standIn struct {
	name, endpoint string
	cmd            *exec.Cmd
}

// startStandIn starts a stand-in and waits until it answers /_ping.
func startStandIn(t *testing.T, name, endpoint string) *standIn {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "BERTH_ENGINE_STANDIN="+name+"="+endpoint)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &standIn{name: name, endpoint: endpoint, cmd: cmd}
	t.Cleanup(s.stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := sockets.Dial(ctx, endpoint)
		cancel()
		if err == nil {
			// Under Wine this first client lands on go-winio's
			// placeholder instance, never accepted: it stays parked.
			if wine.Detected() {
				t.Cleanup(func() { c.Close() })
			} else {
				c.Close()
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stand-in %s does not answer on %s: %v", name, endpoint, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := Ping(context.Background(), s.dial); err != nil {
		t.Fatalf("stand-in %s: %v", name, err)
	}
	return s
}

func (s *standIn) dial(ctx context.Context) (net.Conn, error) { return sockets.Dial(ctx, s.endpoint) }

func (s *standIn) stop() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}
