package dashboard

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/berth-dev/berth/hostagent/api"
)

// machineRoutes stop, start and restart the machine. The page's Stop
// leaves the agent up while the page is open, so the page can start the
// machine again; its Restart boots the VM again in the same agent, and
// the page, on the same address, follows the phases on its event stream.
func (s *Server) machineRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/machine/stop", func(w http.ResponseWriter, r *http.Request) {
		s.machineAction(w, r.Context(), s.o.Agent.StopStandby)
	})
	mux.HandleFunc("POST /api/machine/start", func(w http.ResponseWriter, r *http.Request) {
		s.machineAction(w, r.Context(), func(ctx context.Context) error { return s.o.Agent.Start(ctx, api.StartRequest{}) })
	})
	mux.HandleFunc("POST /api/machine/restart", func(w http.ResponseWriter, r *http.Request) {
		s.machineAction(w, r.Context(), s.o.Agent.Restart)
	})
}

// machineAction runs one of the agent's machine requests. An invalid
// config comes back as the settings' errors, each by its field (400); a
// refusal (409: the machine is not stopped, the agent is exiting) keeps
// its code; the agent not answering is 502.
func (s *Server) machineAction(w http.ResponseWriter, ctx context.Context, do func(context.Context) error) {
	err := do(ctx)
	var refused *api.Error
	switch {
	case err == nil:
		w.WriteHeader(http.StatusAccepted)
	case errors.As(err, &refused) && refused.Code == http.StatusBadRequest:
		msg := strings.TrimPrefix(refused.Message, s.o.ConfigPath+": ")
		writeJSON(w, http.StatusBadRequest, SettingsError{Errors: fieldErrors(errors.New(msg))})
	case errors.As(err, &refused) && refused.Code == http.StatusConflict:
		writeError(w, http.StatusConflict, refused.Message)
	default:
		writeError(w, http.StatusBadGateway, err.Error())
	}
}
