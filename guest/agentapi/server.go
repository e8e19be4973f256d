package agentapi

import (
	"context"
	"encoding/json"
	"net/http"
)

// Backend is what the handler needs from the guest init.
type Backend interface {
	Health(ctx context.Context) Health
	// Shutdown starts a clean power-off and returns at once; calling it
	// again while a shutdown runs is harmless.
	Shutdown(reason string)
}

// NewHandler serves the API from b.
func NewHandler(b Backend) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathHealth, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, b.Health(r.Context()))
	})
	mux.HandleFunc("POST "+PathShutdown, func(w http.ResponseWriter, r *http.Request) {
		b.Shutdown("requested through the guest agent API by " + r.RemoteAddr)
		writeJSON(w, http.StatusAccepted, ShutdownResponse{Status: "shutting-down"})
	})
	mux.HandleFunc("GET "+PathListeners, serveListeners(b))
	mux.HandleFunc("POST "+PathExec, serveExec(b))
	mux.HandleFunc("POST "+PathConnect, serveConnect)
	mux.HandleFunc("POST "+PathTime, serveTime(b))
	mux.HandleFunc("POST "+PathShares, serveShares(b))
	mux.HandleFunc("GET "+PathLogs+"{name}", serveLogs(b))
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
