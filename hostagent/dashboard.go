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
// CLI and the tray are. A page that cannot be served (its port is taken)
// does not stop the machine: the control API says why. The page outlives
// a restart in this agent (its address and token stay: the page that
// asked for the restart follows it); a new dashboard.port applies when
// the agent starts again.
func (a *Agent) startDashboard(_ context.Context, b *boot, _ *[]func()) error {
	if !b.settings.Dashboard {
		a.log.Info("dashboard off (dashboard.enabled: false)")
		a.closeDashboard()
		a.setDashboard(nil, "the dashboard is off (dashboard.enabled: false in the config)")
		return nil
	}
	if srv := a.dashboardServer(); srv != nil {
		if p := b.settings.DashboardPort; p != 0 && p != srv.Port() {
			a.log.Info("the dashboard keeps its port until the agent starts again", "port", srv.Port(), "dashboard.port", p)
		}
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
		a.log.Warn("no dashboard", "err", err)
		a.setDashboard(nil, err.Error())
		return nil
	}
	a.setDashboard(srv, "")
	// The address carries the token: it is logged without it.
	a.log.Info("dashboard serving", "address", "http://127.0.0.1:"+strconv.Itoa(srv.Port())+"/")
	return nil
}

// closeDashboard stops serving the page, when it is served.
func (a *Agent) closeDashboard() {
	a.mu.Lock()
	srv := a.dashboard
	a.dashboard, a.dashboardWhy = nil, "the host agent is exiting"
	a.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// dashboardServer is the page's server, nil when none runs.
func (a *Agent) dashboardServer() *dashboard.Server {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.dashboard
}

// serveDashboard hands the page's address, with its token, to the owning
// user (the control API's socket is theirs only).
func (a *Agent) serveDashboard(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	srv, why := a.dashboard, a.dashboardWhy
	a.mu.Unlock()
	if srv == nil {
		if why == "" {
			why = "the machine has not read its config yet"
		}
		writeError(w, http.StatusNotFound, why)
		return
	}
	writeJSON(w, http.StatusOK, api.Dashboard{URL: srv.URL()})
}

// setDashboard records the page's server, or why there is none.
func (a *Agent) setDashboard(srv *dashboard.Server, why string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dashboard, a.dashboardWhy = srv, why
}
