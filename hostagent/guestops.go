package hostagent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/hostagent/bridge"
)

// maxClockDrift is how far the guest's clock may be off before the agent
// sets it: a paused VM or a host that slept leaves it behind.
const maxClockDrift = time.Second

// guestRoutes adds the control API's pass-throughs to the guest agent
// (POST /v1/exec, GET /v1/logs/{name}: see package api).
func (a *Agent) guestRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/exec", a.serveExec)
	mux.HandleFunc("GET /v1/logs/{name}", a.serveGuestLog)
}

func (a *Agent) guestReady(w http.ResponseWriter) bool {
	if a.guestClient() == nil || a.engineDialer() == nil {
		writeJSON(w, http.StatusConflict, map[string]string{"message": "the machine is not running"})
		return false
	}
	return true
}

func (a *Agent) serveExec(w http.ResponseWriter, r *http.Request) {
	if !a.guestReady(w) {
		return
	}
	var req agentapi.ExecRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "exec request: " + err.Error()})
		return
	}
	// A shell keeps a paused VM resumed until it ends.
	awake, err := a.wakeFor(r.Context())
	defer awake()
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"message": err.Error()})
		return
	}
	guest, err := a.guestClient().Exec(r.Context(), req)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"message": err.Error()})
		return
	}
	defer guest.Close()
	client, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer client.Close()
	if _, err := io.WriteString(rw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: berth-exec\r\n\r\n"); err != nil {
		return
	}
	if err := rw.Flush(); err != nil {
		return
	}
	// Bytes the client sent after its request are already buffered.
	if n := rw.Reader.Buffered(); n > 0 { //nolint:staticcheck // rw embeds a Reader and a Writer: Buffered is ambiguous
		b, _ := rw.Peek(n)
		if _, err := guest.Write(b); err != nil {
			return
		}
	}
	bridge.Pipe(client, guest)
}

func (a *Agent) serveGuestLog(w http.ResponseWriter, r *http.Request) {
	gc := a.guestClient()
	if gc == nil {
		writeJSON(w, http.StatusConflict, map[string]string{"message": "the machine is not running"})
		return
	}
	awake, err := a.wakeFor(r.Context())
	defer awake()
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"message": err.Error()})
		return
	}
	rc, err := gc.Log(r.Context(), r.PathValue("name"))
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"message": err.Error()})
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.Copy(w, rc)
}

// syncClock sets the guest's clock when it is more than maxClockDrift off
// the host's; h was fetched between sent and received.
func (a *Agent) syncClock(ctx context.Context, h agentapi.Health, sent, received time.Time) {
	if h.Time.IsZero() {
		return
	}
	// The guest read its clock about halfway through the round trip.
	mid := sent.Add(received.Sub(sent) / 2)
	drift := h.Time.Sub(mid)
	if drift < maxClockDrift && drift > -maxClockDrift {
		return
	}
	if err := a.guestClient().SetClock(ctx, time.Now()); err != nil {
		a.log.Warn("could not correct the guest's clock", "drift", drift.String(), "err", err)
		return
	}
	a.log.Info("corrected the guest's clock", "drift", drift.String())
}
