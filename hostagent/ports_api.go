package hostagent

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/portfwd"
)

// portRoutes serves the forwards part of the control API (see package api).
func (a *Agent) portRoutes(mux *http.ServeMux) {
	a.pauseRoutes(mux)
	mux.HandleFunc("GET /v1/forwards", func(w http.ResponseWriter, r *http.Request) {
		p := a.portsOrFail(w)
		if p == nil {
			return
		}
		writeJSON(w, http.StatusOK, append(p.rec.List(), p.paused.list()...))
	})
	mux.HandleFunc("POST /v1/forwards", func(w http.ResponseWriter, r *http.Request) {
		var req api.ForwardRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "request body: "+err.Error())
			return
		}
		sp, err := portfwd.ParseSpec(req.Spec)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		p := a.portsOrFail(w)
		if p == nil {
			return
		}
		fs, err := p.addManual(sp)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, fs)
	})
	mux.HandleFunc("DELETE /v1/forwards", func(w http.ResponseWriter, r *http.Request) {
		sp, err := portfwd.ParseSpec(r.URL.Query().Get("spec"))
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		p := a.portsOrFail(w)
		if p == nil {
			return
		}
		switch err := p.removeManual(sp); {
		case errors.Is(err, errNoForward):
			writeError(w, http.StatusNotFound, err.Error())
		case err != nil:
			writeError(w, http.StatusInternalServerError, err.Error())
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
}

func (a *Agent) portsOrFail(w http.ResponseWriter) *ports {
	a.mu.Lock()
	p := a.ports
	a.mu.Unlock()
	if p == nil {
		writeError(w, http.StatusConflict, "the engine is not running: port forwards exist only while it runs")
	}
	return p
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg})
}
