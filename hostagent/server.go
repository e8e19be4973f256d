package hostagent

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
)

func (a *Agent) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, a.snapshot())
	})
	mux.HandleFunc("POST /v1/stop", func(w http.ResponseWriter, r *http.Request) {
		a.requestStop()
		writeJSON(w, http.StatusAccepted, a.snapshot())
	})
	mux.HandleFunc("GET /v1/events", a.serveEvents)
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
