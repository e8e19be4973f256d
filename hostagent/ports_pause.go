package hostagent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/portfwd"
)

// pausedPorts holds the host ports the user asked not to forward for now
// (the tray's "Stop forwarding"; see api.ForwardPaused). It sits between
// portfwd.Desired and the reconciler: a paused port's forwards are held
// back, listed with state "paused", and announced as events. A pause ends
// when nothing wants the port any more, so it never swallows a forward the
// user did not see.
type pausedPorts struct {
	emit func(portfwd.Forward)

	mu      sync.Mutex
	keys    map[string]bool
	held    []portfwd.Forward // held back by the last hold
	pending []portfwd.Forward // events for flush
}

func pauseKey(proto portfwd.Proto, port int) string {
	return strconv.Itoa(port) + "/" + string(proto)
}

// hold returns the desired forwards without the paused ones.
func (pp *pausedPorts) hold(desired []portfwd.Forward) []portfwd.Forward {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	wanted := map[string]bool{}
	var keep, held []portfwd.Forward
	for _, f := range desired {
		k := pauseKey(f.Proto, f.HostPort)
		wanted[k] = true
		if !pp.keys[k] {
			keep = append(keep, f)
			continue
		}
		f.State, f.Reason = api.ForwardPaused, ""
		held = append(held, f)
		if !slices.ContainsFunc(pp.held, func(g portfwd.Forward) bool { return g.Key() == f.Key() }) {
			pp.pending = append(pp.pending, f)
		}
	}
	for _, f := range pp.held {
		if !slices.ContainsFunc(held, func(g portfwd.Forward) bool { return g.Key() == f.Key() }) {
			f.State = portfwd.StateClosed
			pp.pending = append(pp.pending, f)
		}
	}
	for k := range pp.keys {
		if !wanted[k] {
			delete(pp.keys, k)
		}
	}
	pp.held = held
	return keep
}

// flush announces what the last hold changed; called after the reconciler
// has closed the listeners, so "paused" follows "closed".
func (pp *pausedPorts) flush() {
	pp.mu.Lock()
	evs := pp.pending
	pp.pending = nil
	pp.mu.Unlock()
	if pp.emit == nil {
		return
	}
	for _, f := range evs {
		pp.emit(f)
	}
}

func (pp *pausedPorts) list() []portfwd.Forward {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	return slices.Clone(pp.held)
}

func (pp *pausedPorts) set(key string, paused bool) bool {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	was := pp.keys[key]
	if paused {
		if pp.keys == nil {
			pp.keys = map[string]bool{}
		}
		pp.keys[key] = true
	} else {
		delete(pp.keys, key)
	}
	return was
}

// pauseRoutes serves /v1/forwards/paused (see api.PauseForward).
func (a *Agent) pauseRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/forwards/paused", func(w http.ResponseWriter, r *http.Request) {
		var req api.PauseRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "request body: "+err.Error())
			return
		}
		if err := checkPause(req.Proto, req.HostPort); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		p := a.portsOrFail(w)
		if p == nil {
			return
		}
		p.paused.set(pauseKey(req.Proto, req.HostPort), true)
		p.apply()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /v1/forwards/paused", func(w http.ResponseWriter, r *http.Request) {
		proto := portfwd.Proto(r.URL.Query().Get("proto"))
		port, _ := strconv.Atoi(r.URL.Query().Get("port"))
		if err := checkPause(proto, port); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		p := a.portsOrFail(w)
		if p == nil {
			return
		}
		if !p.paused.set(pauseKey(proto, port), false) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("port %d/%s is not paused", port, proto))
			return
		}
		p.apply()
		w.WriteHeader(http.StatusNoContent)
	})
}

func checkPause(proto portfwd.Proto, port int) error {
	if proto != portfwd.TCP && proto != portfwd.UDP {
		return fmt.Errorf("proto: %q is not tcp or udp", proto)
	}
	if port < 1 || port > 65535 {
		return fmt.Errorf("port: %d is not 1-65535", port)
	}
	return nil
}

// pauseEmitter publishes held and released forwards as "forward" events.
func (a *Agent) pauseEmitter() func(portfwd.Forward) {
	return func(f portfwd.Forward) {
		a.hub.Publish(api.Event{Time: time.Now(), Type: "forward", Forward: &f})
	}
}
