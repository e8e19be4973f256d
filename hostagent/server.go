package hostagent

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
)

func (a *Agent) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, a.snapshot())
	})
	a.machineRoutes(mux)
	mux.HandleFunc("GET /v1/events", a.serveEvents)
	mux.HandleFunc("GET /v1/debug/engine-rtt", a.serveEngineRTT)
	mux.HandleFunc("GET /v1/debug/resources", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, resources(runtime.GOOS))
	})
	mux.HandleFunc("GET /v1/dashboard", a.serveDashboard)
	mux.HandleFunc("POST /v1/default-engine", a.serveDefaultEngine)
	a.portRoutes(mux)
	a.guestRoutes(mux)
	return mux
}

// serveEvents streams events as JSON lines, starting with the current
// status, so a follower never misses the state it joins in.
func (a *Agent) serveEvents(w http.ResponseWriter, r *http.Request) {
	ch, leave := a.hub.Subscribe(64)
	defer leave()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	fl, _ := w.(http.Flusher)
	st := a.snapshot()
	if enc.Encode(api.Event{Time: time.Now(), Type: "status", Status: &st}) != nil {
		return
	}
	if fl != nil {
		fl.Flush()
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-ch:
			if !ok {
				return
			}
			if enc.Encode(ev) != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// serveEngineRTT times n docker API calls (GET /version or /_ping, each on a new
// connection, as the docker CLI makes them) from the agent straight to the
// guest, without the socket bridge: the baseline the bridge is measured
// against.
func (a *Agent) serveEngineRTT(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Query().Get("path")
	if path == "" {
		path = "/version"
	}
	if path != "/version" && path != "/_ping" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "path: /version or /_ping"})
		return
	}
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if err != nil || n < 1 || n > 10000 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "n: a count from 1 to 10000"})
		return
	}
	dial := a.engineDialer()
	if dial == nil {
		writeJSON(w, http.StatusConflict, map[string]string{"message": "the engine is not running"})
		return
	}
	awake, err := a.wakeFor(r.Context())
	defer awake()
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"message": err.Error()})
		return
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return dial(ctx)
	}, DisableKeepAlives: true}}
	out := api.RTT{}
	for range n {
		t0 := time.Now()
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://docker"+path, nil)
		resp, err := hc.Do(req)
		if err != nil {
			writeJSON(w, http.StatusBadGateway, map[string]string{"message": err.Error()})
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out.Nanos = append(out.Nanos, time.Since(t0).Nanoseconds())
	}
	writeJSON(w, http.StatusOK, out)
}

// resources counts what this process holds.
func resources(goos string) api.Resources {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return api.Resources{Goroutines: runtime.NumGoroutine(), FDs: openFiles(goos), HeapBytes: ms.HeapInuse, SysBytes: ms.Sys}
}

// openFiles counts this process's open files where the system lists them
// in a directory; -1 elsewhere.
func openFiles(goos string) int {
	dir := map[string]string{"linux": "/proc/self/fd", "darwin": "/dev/fd"}[goos]
	if dir == "" {
		return -1
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return -1
	}
	return len(ents) - 1 // the directory being read
}
