package hostagent

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/store"
)

// One agent process runs the machine one or more times: a restart asked
// through the control API (the dashboard's Restart) stops the VM and boots
// it again in the same process, so the dashboard keeps its listener,
// address and token and the page follows the restart on its event stream.
// A stop asked by the page (POST /v1/stop?standby=true), or a run that
// ended on its own, leaves the agent up while a page is open: the machine
// is stopped, the page can start it again (POST /v1/start), and once no
// page has been open for standbyGrace the agent exits as a stop would.

// standbyGrace is how long a stopped machine's agent waits for a page to
// come back (a reload) before it exits.
const standbyGrace = 15 * time.Second

// request is what the control API asks of the agent's runs, weakest
// first: a stronger one replaces a weaker one not yet acted on.
type request int

const (
	reqNone    request = iota
	reqStart           // in standby: start the machine again
	reqRestart         // stop the VM and boot it again
	reqStandby         // stop the machine; stay up while a page is open
	reqExit            // stop the machine and exit (berth stop, a signal)
)

var (
	errLeaving    = errors.New("the host agent is exiting")
	errNotStopped = errors.New("the machine is not stopped")
)

// control holds the requests to the agent's runs.
type control struct {
	mu      sync.Mutex
	pending request
	// start is the start request's options (StartRequest).
	start api.StartRequest
	wake  chan struct{} // something was asked
	// cancel ends the run in progress: a request ends a start at once.
	cancel  context.CancelFunc
	standby bool // the machine is stopped and the agent waits
	leaving bool // the agent exits: nothing more is accepted
	unsaved bool // a stop asked not to save the VM (fastStart)
}

func newControl() *control { return &control{wake: make(chan struct{}, 1)} }

// ask records q; a start only while the agent stands by, nothing once it
// is leaving.
func (c *control) ask(q request, start api.StartRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.leaving && q != reqExit:
		return errLeaving
	case q == reqStart && !c.standby:
		return errNotStopped
	case q == reqRestart && c.standby:
		q = reqStart // a stopped machine restarts by starting
	}
	if q == reqStart {
		c.start = start
	}
	if q > c.pending {
		c.pending = q
	}
	if c.cancel != nil {
		c.cancel()
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// take returns the strongest request since the last take, and forgets it.
func (c *control) take() (request, api.StartRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q, s := c.pending, c.start
	c.pending, c.start, c.unsaved = reqNone, api.StartRequest{}, false
	return q, s
}

// stopping says whether a stop (berth stop, the page's Stop) is what
// ends the run: not a restart, not a signal.
func (c *control) stopping() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.unsaved && (c.pending == reqExit || c.pending == reqStandby)
}

// noSave makes the stop that ends this run shut the VM down.
func (c *control) noSave() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unsaved = true
}

// running records the cancel of the run that begins (nil: it ended).
func (c *control) running(cancel context.CancelFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancel = cancel
}

// setStandby marks the agent standing by, or no longer.
func (c *control) setStandby(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.standby = on
}

// leave marks the agent exiting, unless a start came first (it reports
// whether it left).
func (c *control) leave() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == reqStart || c.pending == reqRestart {
		return false
	}
	c.leaving, c.standby = true, false
	return true
}

// runs runs the machine until it should stop for good: a stop request
// (berth stop), a signal, or a stopped machine no page looks at. It
// returns the last run's error.
func (a *Agent) runs(ctx context.Context) error {
	start := api.StartRequest{}
	for {
		err := a.runOnce(ctx, start)
		var next request
		next, start = a.ctl.take()
		switch {
		case ctx.Err() != nil || next == reqExit:
			a.ctl.leave()
			return err
		case next == reqRestart, next == reqStart:
			a.log.Info("starting the machine again", "asked", next == reqStart)
			continue
		}
		if next, start = a.standBy(ctx); next == reqNone {
			return err
		}
	}
}

// runOnce is one start of the machine, its life, and its stop; everything
// it started is undone when it returns. A request (stop, restart) ends it,
// a start in progress at once; that is a stop, not an error.
func (a *Agent) runOnce(ctx context.Context, start api.StartRequest) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.ctl.running(cancel)
	defer a.ctl.running(nil)
	a.beginRun(start)
	var cleanups []func()
	err := a.run(runCtx, &cleanups)
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	a.endRun()
	if err != nil && ctx.Err() == nil && runCtx.Err() != nil {
		a.log.Info("the start was ended by a request", "err", err)
		err = nil
	}
	if err != nil {
		a.set(func(s *api.Status) { s.State, s.Phase, s.Error, s.VMPID = api.StateError, "", err.Error(), 0 })
		a.log.Error("machine stopped with an error", "err", err)
	} else {
		a.set(func(s *api.Status) { s.State, s.Phase, s.Error, s.VMPID = api.StateStopped, "", "", 0 })
	}
	return err
}

// beginRun resets what a run changes: the options the config and a start
// request set, and the status.
func (a *Agent) beginRun(start api.StartRequest) {
	a.o.Driver, a.o.Accel, a.o.Ports.LoopbackByDefault = a.base.Driver, a.base.Accel, a.base.Ports.LoopbackByDefault
	if start.Driver != "" {
		a.o.Driver = start.Driver
	}
	if start.Accel != "" {
		a.o.Accel = start.Accel
	}
	m := a.o.Machine
	a.set(func(s *api.Status) {
		*s = api.Status{
			Machine: m.Name, State: api.StateStarting, Phase: "preparing",
			DockerHost: m.DockerHost(), DockerSocket: m.DockerSocket(),
			AgentPID: s.AgentPID, StartedAt: time.Now(), Timeline: s.Timeline,
		}
	})
}

// endRun forgets what the run's stages left for the control API: they
// all stopped.
func (a *Agent) endRun() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.engineDial, a.ports, a.saver, a.running, a.guest = nil, nil, nil, nil, nil
}

// standBy keeps the stopped machine's agent up while a dashboard page is
// open, and says what ended it: a start (with its options), or reqNone to
// exit (a stop request, a signal, no page for standbyGrace).
func (a *Agent) standBy(ctx context.Context) (request, api.StartRequest) {
	srv := a.dashboardServer()
	if srv == nil {
		a.ctl.leave()
		return reqNone, api.StartRequest{}
	}
	a.ctl.setStandby(true)
	a.set(func(s *api.Status) { s.Standby = true })
	a.log.Info("the machine is stopped; the agent stays up while a dashboard page is open")
	var grace *time.Timer
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()
	for {
		n, changed := srv.Pages()
		var expired <-chan time.Time
		switch {
		case n > 0 && grace != nil:
			grace.Stop()
			grace = nil
		case n == 0 && grace == nil:
			grace = time.NewTimer(cmp.Or(a.o.StandbyGrace, standbyGrace))
		}
		if grace != nil {
			expired = grace.C
		}
		select {
		case <-ctx.Done():
			a.ctl.leave()
			return reqNone, api.StartRequest{}
		case <-changed:
		case <-a.ctl.wake:
		case <-expired:
			if a.ctl.leave() {
				a.log.Info("no dashboard page is open: the agent exits")
				return reqNone, api.StartRequest{}
			}
		}
		switch q, start := a.ctl.take(); q {
		case reqExit:
			a.ctl.leave()
			return reqNone, api.StartRequest{}
		case reqStart, reqRestart:
			a.ctl.setStandby(false)
			return reqStart, start
		}
	}
}

// checkConfig is what a restart or start asked through the control API
// checks before it stops anything: the whole config as `berth start`
// checks it (CheckConfig).
func (a *Agent) checkConfig() error {
	_, err := ValidateConfig(a.o.Machine, a.o.ConfigPath)
	return err
}

// ValidateConfig checks the config file at path for machine m: every
// problem (config.LoadResolved), a disk that would shrink the machine's,
// an arch other than the machine's; it returns the warnings (unknown keys).
// Each problem is on a line of its own, after the file's path.
func ValidateConfig(m store.Machine, path string) ([]string, error) {
	r, warnings, err := config.LoadResolved(path, HostLimits())
	if err != nil {
		return warnings, err
	}
	if err := CheckDiskGrowth(m, r.DiskGiB); err != nil {
		return warnings, errors.New(path + ": " + err.Error())
	}
	if err := CheckArch(m, r.Arch); err != nil {
		return warnings, errors.New(path + ": " + err.Error())
	}
	return warnings, nil
}

// machineRoutes serve the requests that stop, start and restart the
// machine (see package api).
func (a *Agent) machineRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/stop", func(w http.ResponseWriter, r *http.Request) {
		q := reqExit
		if r.URL.Query().Get("standby") == "true" {
			q = reqStandby
		}
		noSave := r.URL.Query().Get("save") == "false"
		if noSave {
			a.ctl.noSave()
		}
		a.log.Info("stop asked", "standby", q == reqStandby, "noSave", noSave)
		_ = a.ctl.ask(q, api.StartRequest{})
		writeJSON(w, http.StatusAccepted, a.snapshot())
	})
	mux.HandleFunc("POST /v1/restart", func(w http.ResponseWriter, r *http.Request) {
		a.startOrRestart(w, reqRestart, api.StartRequest{})
	})
	mux.HandleFunc("POST /v1/start", func(w http.ResponseWriter, r *http.Request) {
		var req api.StartRequest
		if r.ContentLength != 0 {
			if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
				writeError(w, http.StatusBadRequest, "request body: "+err.Error())
				return
			}
		}
		a.startOrRestart(w, reqStart, req)
	})
}

func (a *Agent) startOrRestart(w http.ResponseWriter, q request, req api.StartRequest) {
	if err := a.checkConfig(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := a.ctl.ask(q, req); err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	a.log.Info("start asked", "restart", q == reqRestart)
	if st := a.snapshot(); st.Standby {
		// Starting from now: a follower that joins must not see "stopped".
		a.set(func(s *api.Status) { s.State, s.Phase, s.Error, s.Standby = api.StateStarting, "preparing", "", false })
	}
	writeJSON(w, http.StatusAccepted, a.snapshot())
}
