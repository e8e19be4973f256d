package hostagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/hostagent/bridge"
	"github.com/berth-dev/berth/internal/dockercontext"
	"github.com/berth-dev/berth/internal/engineswitch"
	"github.com/berth-dev/berth/internal/sockets"
)

// listenFunc creates an owner-only endpoint: sockets.Listen, or a fake.
type listenFunc func(path string) (net.Listener, error)

// dockerListeners opens the machine's docker socket (own), and Docker's
// default endpoint (dflt, "" for none) as well when nobody serves it, so
// that the docker CLI's default context reaches the engine with no setup.
// Only own failing is an error: a default endpoint held by Docker Desktop,
// dockerd or another machine's agent is left to it and said in the log.
func dockerListeners(own, dflt string, listen listenFunc, log *slog.Logger) ([]net.Listener, error) {
	ln, err := listen(own)
	if err != nil {
		return nil, fmt.Errorf("docker socket: %w", err)
	}
	lns := []net.Listener{ln}
	if dflt == "" {
		return lns, nil
	}
	d, err := listen(dflt)
	if serve, why := serveDefault(err); serve {
		log.Info("docker's default endpoint served too", "endpoint", dflt)
		lns = append(lns, d)
	} else {
		log.Info("docker's default endpoint not served", "endpoint", dflt, "reason", why)
	}
	return lns, nil
}

// serveDefault decides from Listen's answer on the default endpoint whether
// to serve it, and if not, why.
func serveDefault(err error) (bool, string) {
	switch {
	case err == nil:
		return true, ""
	case errors.Is(err, sockets.ErrInUse):
		return false, "another server holds it (Docker Desktop, dockerd or another Berth machine): " + err.Error()
	default:
		return false, err.Error()
	}
}

// serveDocker serves the docker listeners (dockerListeners' order: the
// machine's own, then Docker's default when served) until ctx ends: the
// machine's own through a Linux bridge; Docker's default too where there
// is no Windows engine, and on Windows through a Router between a Linux
// bridge and a bridge to the Windows engine (berth-service's dockerd.exe),
// starting with the engine of the docker CLI's current context. The
// Windows engine's bridge rewrites nothing: a Windows container's binds
// (C:\src:C:\app) are the host's own paths.
//
// dialWindows reaches the Windows engine (windowsEngineDialer: nil but on
// Windows).
func (a *Agent) serveDocker(ctx context.Context, lns []net.Listener, linux func() *bridge.Bridge, dialWindows bridge.Dialer, wg *sync.WaitGroup) {
	own := linux()
	wg.Go(func() { _ = own.Serve(ctx, lns[0]) })
	if len(lns) < 2 {
		return
	}
	if dialWindows == nil {
		dflt := linux()
		wg.Go(func() { _ = dflt.Serve(ctx, lns[1]) })
		return
	}
	r := engineswitch.Start(ctx, lns[1], initialDefaultEngine(a.log), linux(), bridge.New(dialWindows, a.log), wg)
	a.mu.Lock()
	a.router = r
	a.mu.Unlock()
	a.set(func(st *api.Status) { st.DefaultEngine = string(r.Current()) })
}

// initialDefaultEngine is the engine of the docker CLI's current context
// (berth switch sets both together), Linux when it cannot be read.
func initialDefaultEngine(log *slog.Logger) engineswitch.Engine {
	dir, err := dockercontext.Dir()
	if err == nil {
		var cur string
		if cur, err = dockercontext.Current(dir); err == nil {
			return engineswitch.OfContext(cur)
		}
	}
	log.Info("docker's current context unreadable; the default pipe carries the Linux engine", "err", err)
	return engineswitch.Linux
}

// serveDefaultEngine is POST /v1/default-engine: the default pipe re-pointed.
func (a *Agent) serveDefaultEngine(w http.ResponseWriter, r *http.Request) {
	var req api.DefaultEngineRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "body: " + err.Error()})
		return
	}
	e, err := engineswitch.Parse(req.Engine)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
		return
	}
	a.mu.Lock()
	router := a.router
	a.mu.Unlock()
	if router == nil {
		writeJSON(w, http.StatusConflict, map[string]string{"message": "docker's default pipe is not served by this agent (the engine is not up, another server holds it, or this is not Windows)"})
		return
	}
	if prev := router.Switch(e); prev != e {
		a.log.Info("docker's default pipe re-pointed", "engine", e, "was", prev)
	}
	a.set(func(st *api.Status) { st.DefaultEngine = string(e) })
	writeJSON(w, http.StatusOK, api.DefaultEngineRequest{Engine: string(e)})
}
