package hostagent

import (
	"context"
	"net"
	"net/http"
	"strconv"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/hostagent/dashboard"
	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/store"
)

// startDashboard serves the machine's web page on host loopback, unless
// the config turns it off (dashboard.enabled: false). It comes right
// after the config, so the page can follow the rest of the start. The page
// is a client of this agent's control API and of the docker socket, as the
// CLI and the tray are.
func (a *Agent) startDashboard(_ context.Context, b *boot, cleanups *[]func()) error {
	if !b.settings.Dashboard {
		a.log.Info("dashboard off (dashboard.enabled: false)")
		return nil
	}
	m := a.o.Machine
	srv, err := dashboard.Start(dashboard.Options{
		Port:  b.settings.DashboardPort,
		Agent: api.NewClient(m.AgentSocket()),
		Docker: func(ctx context.Context) (net.Conn, error) {
			return sockets.Dial(ctx, m.DockerSocket())
		},
		ConfigPath: a.o.ConfigPath,
		Host:       HostLimits(),
		DataDisk:   m.Path(store.DataDisk),
		Log:        a.log,
	})
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.dashboard = srv
	a.mu.Unlock()
	*cleanups = append(*cleanups, func() {
		a.mu.Lock()
		a.dashboard = nil
		a.mu.Unlock()
		_ = srv.Close()
	})
	// The address carries the token: it is logged without it.
	a.log.Info("dashboard serving", "address", "http://127.0.0.1:"+strconv.Itoa(srv.Port())+"/")
	return nil
}

// serveDashboard hands the page's address, with its token, to the owning
// user (the control API's socket is theirs only).
func (a *Agent) serveDashboard(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	srv := a.dashboard
	a.mu.Unlock()
	if srv == nil {
		writeError(w, http.StatusNotFound, "the dashboard is off (dashboard.enabled: false in the config), or the machine has not read its config yet")
		return
	}
	writeJSON(w, http.StatusOK, api.Dashboard{URL: srv.URL()})
}
