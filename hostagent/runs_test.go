package hostagent

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/proc"
	"github.com/berth-dev/berth/internal/wine"
)

// The dashboard's Restart boots the VM again in the same agent: a bad
// config is refused with its field's problem and nothing stops; a good one
// stops the VM and boots another, through stopping and starting, with the
// page on the same address. The page's Stop leaves the agent standing by
// while the page is open, and its Start runs the machine again there; a
// stop request (berth stop) ends a standby at once, and so does the page's
// closing, after the grace: nothing is left.
func TestRestartAndStandby(t *testing.T) {
	wine.Skip(t, "Wine has no AF_UNIX sockets, and the fake guest's network link is one")
	a := startAgent(t, "", fakeDriverName)
	ctx, ctl, f := a.ctx, a.ctl, a.f
	addr, err := ctl.Dashboard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	states := followStates(ctx, t, ctl)
	closePage := openPage(ctx, t, addr)
	vm1 := f.pid()

	cfg := a.m.Dir + "/../config.yaml"
	if err := os.WriteFile(cfg, []byte("cpus: 999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = ctl.Restart(ctx)
	var refused *api.Error
	if !errors.As(err, &refused) || refused.Code != http.StatusBadRequest || !strings.Contains(refused.Message, "cpus: 999") {
		t.Fatalf("restart with cpus 999: %v, want a 400 naming cpus", err)
	}
	if st, _ := ctl.Status(ctx); st.State != api.StateRunning || f.pid() != vm1 {
		t.Fatalf("after a refused restart: %s, VM %d (was %d)", st.State, f.pid(), vm1)
	}
	if err := os.WriteFile(cfg, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	if err := ctl.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	st := waitState(ctx, t, ctl, a.runErr, func(s *api.Status) bool { return s.State == api.StateRunning && f.pid() != vm1 })
	if proc.Alive(vm1) {
		t.Errorf("the first VM (pid %d) runs on after the restart", vm1)
	}
	if st.AgentPID != os.Getpid() {
		t.Errorf("agent pid %d after the restart, want this process's %d", st.AgentPID, os.Getpid())
	}
	if again, _ := ctl.Dashboard(ctx); again != addr {
		t.Errorf("the dashboard moved from %s to %s", addr, again)
	}
	for _, want := range []api.State{api.StateStopping, api.StateStarting, api.StateRunning} {
		if !slices.Contains(states.since(api.StateRunning), want) {
			t.Errorf("the restart's states %v lack %s", states.all(), want)
		}
	}

	// The page's Stop: the machine stops, the agent stays for the page.
	vm2 := f.pid()
	if err := ctl.StopStandby(ctx); err != nil {
		t.Fatal(err)
	}
	waitState(ctx, t, ctl, a.runErr, func(s *api.Status) bool { return s.State == api.StateStopped && s.Standby })
	if proc.Alive(vm2) {
		t.Errorf("the VM (pid %d) runs on in standby", vm2)
	}
	if _, err := os.Stat(a.m.DockerSocket()); err == nil {
		t.Error("the docker socket is left in standby")
	}
	if err := ctl.Restart(ctx); err != nil { // a stopped machine restarts by starting
		t.Fatalf("start from standby: %v", err)
	}
	waitState(ctx, t, ctl, a.runErr, func(s *api.Status) bool { return s.State == api.StateRunning && !s.Standby })
	if err := ctl.Start(ctx, api.StartRequest{}); err == nil {
		t.Error("a start of a running machine was accepted")
	}

	// berth stop ends a standby at once.
	if err := ctl.StopStandby(ctx); err != nil {
		t.Fatal(err)
	}
	waitState(ctx, t, ctl, a.runErr, func(s *api.Status) bool { return s.Standby })
	if err := ctl.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-a.runErr; err != nil {
		t.Fatalf("Run after a stop in standby: %v", err)
	}
	closePage()
	checkNothingLeft(t, a.m, f)

	// A page that closes ends the standby, after the grace.
	b := startAgent(t, "", fakeDriverName)
	addr, err = b.ctl.Dashboard(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	closePage = openPage(b.ctx, t, addr)
	if err := b.ctl.StopStandby(b.ctx); err != nil {
		t.Fatal(err)
	}
	waitState(b.ctx, t, b.ctl, b.runErr, func(s *api.Status) bool { return s.Standby })
	closePage()
	select {
	case err := <-b.runErr:
		if err != nil {
			t.Fatalf("Run after the page closed: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent stands by with no page open")
	}
	checkNothingLeft(t, b.m, b.f)
}

// openPage loads the dashboard as a browser does and keeps its event
// stream open until the returned function is called.
func openPage(ctx context.Context, t testing.TB, addr string) func() {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.Get(addr)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("loading the page: %v %v", resp, err)
	}
	resp.Body.Close()
	u, _ := url.Parse(addr)
	pctx, cancel := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(pctx, http.MethodGet, "http://"+u.Host+"/api/events", nil)
	resp, err = hc.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("the page's events: %v %v", resp, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
		}
		resp.Body.Close()
	}()
	return func() { cancel(); <-done }
}

// stateLog is every state the agent's events said, in order.
type stateLog struct {
	mu     sync.Mutex
	states []api.State
}

func (l *stateLog) all() []api.State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.states)
}

// since is the states after the first s.
func (l *stateLog) since(s api.State) []api.State {
	all := l.all()
	if i := slices.Index(all, s); i >= 0 {
		return all[i+1:]
	}
	return nil
}

func followStates(ctx context.Context, t *testing.T, ctl *api.Client) *stateLog {
	l := &stateLog{}
	ready := make(chan struct{})
	go func() {
		_ = ctl.Events(ctx, func(ev api.Event) error {
			if ev.Status != nil {
				l.mu.Lock()
				if n := len(l.states); n == 0 || l.states[n-1] != ev.Status.State {
					l.states = append(l.states, ev.Status.State)
				}
				l.mu.Unlock()
				select {
				case <-ready:
				default:
					close(ready)
				}
			}
			return nil
		})
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatal("no events")
	}
	return l
}

// waitState waits until the agent's status satisfies ok.
func waitState(ctx context.Context, t testing.TB, ctl *api.Client, runErr <-chan error, ok func(*api.Status) bool) *api.Status {
	t.Helper()
	var last *api.Status
	for {
		st, err := ctl.Status(ctx)
		if err == nil {
			last = st
			if ok(st) {
				return st
			}
		}
		select {
		case err := <-runErr:
			t.Fatalf("Run ended: %v (last status %+v)", err, last)
		case <-ctx.Done():
			t.Fatalf("waiting for the agent: last status %+v", last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// A stop asked while the machine is still starting ends the start at once
// (it used to wait for the engine, up to the engine's timeout), and is a
// stop, not an error.
func TestStopEndsAStart(t *testing.T) {
	wine.Skip(t, "Wine has no AF_UNIX sockets, and the fake guest's network link is one")
	m, o, f := stageMachine(t, "")
	o.EngineTimeout = time.Minute // the guest never answers
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- Run(ctx, o) }()
	ctl := api.NewClient(m.AgentSocket())
	waitState(ctx, t, ctl, runErr, func(s *api.Status) bool { return s.State == api.StateStarting && s.Phase == "engine" })
	t0 := time.Now()
	if err := ctl.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Errorf("Run after a stop while starting: %v", err)
		}
		if d := time.Since(t0); d > 20*time.Second {
			t.Errorf("the stop took %v: it waited for the start", d)
		}
	case <-time.After(50 * time.Second):
		t.Fatal("the stop waited for the engine's timeout")
	}
	checkNothingLeft(t, m, f)
}
