package tray_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/portfwd"
	"github.com/berth-dev/berth/tray"
	"github.com/berth-dev/berth/tray/traytest"
)

// screen keeps the last menu drawn.
type screen struct {
	mu   sync.Mutex
	menu tray.Menu
	n    int
}

func (s *screen) Render(m tray.Menu) {
	s.mu.Lock()
	s.menu, s.n = m, s.n+1
	s.mu.Unlock()
}

func (s *screen) item(id string) (tray.Item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return tray.Find(s.menu.Items, id)
}

// waitFor polls the drawn menu until cond holds.
func (s *screen) waitFor(t *testing.T, what string, cond func(tray.Menu) bool) tray.Menu {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		m := s.menu
		s.mu.Unlock()
		if cond(m) {
			return m
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; menu status %q icon %s", what, s.menu.Items[0].Label, s.menu.Icon)
	return tray.Menu{}
}

func iconIs(st api.State) func(tray.Menu) bool { return func(m tray.Menu) bool { return m.Icon == st } }

type rig struct {
	agent   *traytest.Agent
	engine  *traytest.Engine
	desk    *traytest.Desktop
	app     *tray.App
	scr     *screen
	quitted chan struct{}
	home    string
}

func newRig(t *testing.T, agent *traytest.Agent, set *tray.Settings) *rig {
	t.Helper()
	return newRigDialogs(t, agent, set, nil)
}

// newRigDialogs is newRig with other dialogs than the recorder's (nil: the
// recorder's).
func newRigDialogs(t *testing.T, agent *traytest.Agent, set *tray.Settings, dialogs tray.Dialogs) *rig {
	t.Helper()
	home := t.TempDir()
	if set != nil {
		if err := tray.SaveSettings(home+"/"+tray.SettingsFile, *set); err != nil {
			t.Fatal(err)
		}
	}
	r := &rig{agent: agent, engine: &traytest.Engine{}, desk: &traytest.Desktop{}, scr: &screen{}, quitted: make(chan struct{}), home: home}
	if dialogs == nil {
		dialogs = r.desk
	}
	r.app = tray.New(tray.Options{GOOS: "linux", Home: home, Machine: "default", BerthExe: "/bin/berth", Version: "test",
		Agent: agent, Engine: r.engine, Opener: r.desk, Clipboard: r.desk, Notifier: r.desk, Dialogs: dialogs, Runner: r.desk})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		r.app.Run(ctx, r.scr, func() { close(r.quitted); cancel() })
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func noStart() *tray.Settings { return &tray.Settings{StartEngine: false, OnQuit: tray.OnQuitAsk} }

func TestAppStartsTheEngineWithTheTray(t *testing.T) {
	r := newRig(t, &traytest.Agent{StepDelay: 20 * time.Millisecond}, nil)
	r.scr.waitFor(t, "starting with progress", func(m tray.Menu) bool {
		d, _ := tray.Find(m.Items, "status-detail")
		return m.Icon == api.StateStarting && !d.Hidden && d.Label != ""
	})
	m := r.scr.waitFor(t, "running", iconIs(api.StateRunning))
	if m.Items[0].Label != "Berth is running · Docker 26.1.5 · tcg" {
		t.Errorf("status line %q", m.Items[0].Label)
	}
	if got := r.agent.CallLog(); !slices.Equal(got, []string{"start"}) {
		t.Errorf("agent calls %v", got)
	}
}

func TestAppLeavesTheEngineWhenSetSo(t *testing.T) {
	r := newRig(t, &traytest.Agent{}, noStart())
	r.scr.waitFor(t, "stopped", iconIs(api.StateStopped))
	time.Sleep(100 * time.Millisecond)
	if got := r.agent.CallLog(); len(got) != 0 {
		t.Errorf("agent calls %v", got)
	}
	if it, _ := r.scr.item("start"); it.Disabled {
		t.Error("Start disabled while stopped")
	}
}

func TestAppStartFailureNotifies(t *testing.T) {
	r := newRig(t, &traytest.Agent{StartErr: errors.New("QEMU exited: no KVM\nmore")}, nil)
	m := r.scr.waitFor(t, "error", iconIs(api.StateError))
	d, _ := tray.Find(m.Items, "status-detail")
	if d.Label != "QEMU exited: no KVM" {
		t.Errorf("detail %q", d.Label)
	}
	// The error stays on show after the agent is gone.
	time.Sleep(700 * time.Millisecond)
	if it, _ := r.scr.item("status-detail"); it.Label != "QEMU exited: no KVM" {
		t.Errorf("after the agent left: %q", it.Label)
	}
	if !r.desk.Has("notify Berth could not start: QEMU exited: no KVM [View logs]") {
		t.Errorf("no notification: %v", r.desk.Log())
	}
}

func TestAppFollowsAnAgentStartedElsewhere(t *testing.T) {
	agent := &traytest.Agent{}
	r := newRig(t, agent, noStart())
	r.scr.waitFor(t, "stopped", iconIs(api.StateStopped))
	for _, st := range []api.State{api.StateStarting, api.StateRunning, api.StateDegraded, api.StateStopping} {
		agent.SetStatus(api.Status{State: st})
		r.scr.waitFor(t, string(st), iconIs(st))
	}
	agent.Vanish()
	r.scr.waitFor(t, "stopped after the agent vanished", iconIs(api.StateStopped))
}

func TestAppPortsLive(t *testing.T) {
	agent := &traytest.Agent{}
	r := newRig(t, agent, noStart())
	agent.SetStatus(api.Status{State: api.StateRunning})
	r.scr.waitFor(t, "running", iconIs(api.StateRunning))
	r.engine.SetContainers([]engine.Container{{ID: "c1", Name: "web", Image: "nginx", State: "running",
		Ports: []engine.Port{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}}})
	agent.Forward(portfwd.Forward{Proto: portfwd.TCP, HostIP: "0.0.0.0", HostPort: 8080, GuestPort: 8080,
		Source: portfwd.SourceDocker, Container: "web", ContainerID: "c1", State: portfwd.StateActive})
	r.scr.waitFor(t, "the port with its image", func(m tray.Menu) bool {
		it, ok := tray.Find(m.Items, "port/8080/tcp")
		return ok && it.Label == "web (nginx) — localhost:8080 → 80/tcp"
	})
	click := func(id string) {
		t.Helper()
		it, ok := r.scr.item(id)
		if !ok || it.Disabled || it.Hidden {
			t.Fatalf("%s not clickable: %+v", id, it)
		}
		r.app.Do(it.Action)
	}
	click("port/8080/tcp/open")
	click("port/8080/tcp/copy")
	click("port/8080/tcp/toggle")
	r.scr.waitFor(t, "paused", func(m tray.Menu) bool {
		it, _ := tray.Find(m.Items, "port/8080/tcp/toggle")
		return it.Label == "Forward again"
	})
	click("port/8080/tcp/toggle")
	r.scr.waitFor(t, "forwarded again", func(m tray.Menu) bool {
		it, _ := tray.Find(m.Items, "port/8080/tcp/toggle")
		return it.Label == "Stop forwarding"
	})
	r.desk.Answer(func(d *traytest.Desktop) { d.PromptAnswer = "9000:90" })
	click("ports-add")
	r.scr.waitFor(t, "manual forward", func(m tray.Menu) bool {
		_, ok := tray.Find(m.Items, "port/9000/tcp")
		return ok
	})
	click("container/c1/logs")
	click("container/c1/restart")
	click("shell")
	click("dashboard")
	click("view-logs")
	time.Sleep(50 * time.Millisecond)
	for _, want := range []string{"open http://localhost:8080", "copy localhost:8080", "prompt Forward a port",
		"terminal docker --host unix:///fake/docker.sock logs --follow c1",
		"terminal /bin/berth --machine default shell", "open " + traytest.DashboardURL, "terminal /bin/berth --machine default logs --follow"} {
		if !r.desk.Has(want) {
			t.Errorf("missing %q in %v", want, r.desk.Log())
		}
	}
	if got := agent.CallLog(); !slices.Equal(got, []string{"pause 8080/tcp", "resume 8080/tcp", "add 9000:90", "dashboard"}) {
		t.Errorf("agent calls %v", got)
	}
	if got := r.engine.CallLog(); !slices.Equal(got, []string{"restart c1"}) {
		t.Errorf("engine calls %v", got)
	}
	agent.SetStatus(api.Status{State: api.StateStopping})
	m := r.scr.waitFor(t, "stopping", iconIs(api.StateStopping))
	if _, ok := tray.Find(m.Items, "port/8080/tcp"); ok {
		t.Error("forwards listed while stopping")
	}
}

// Paused by the resource saver: the menu says so and keeps the ports and
// containers; the tray asks the engine nothing (its event stream stays
// open, and would stall), so it does not wake the VM; Stop still works.
func TestAppPaused(t *testing.T) {
	agent := &traytest.Agent{}
	r := newRig(t, agent, noStart())
	agent.SetStatus(api.Status{State: api.StateRunning})
	r.scr.waitFor(t, "running", iconIs(api.StateRunning))
	r.engine.SetContainers([]engine.Container{{ID: "c1", Name: "web", Image: "nginx", State: "exited"}})
	agent.Forward(portfwd.Forward{Proto: portfwd.TCP, HostIP: "127.0.0.1", HostPort: 9000, GuestPort: 90,
		Source: portfwd.SourceManual, Spec: "9000:90", State: portfwd.StateActive})
	r.scr.waitFor(t, "the forward", func(m tray.Menu) bool { _, ok := tray.Find(m.Items, "port/9000/tcp"); return ok })
	time.Sleep(50 * time.Millisecond)
	lists, watches := r.engine.Asked()

	agent.SetStatus(api.Status{State: api.StatePaused, PausedSince: time.Now()})
	m := r.scr.waitFor(t, "paused", iconIs(api.StatePaused))
	if st, _ := tray.Find(m.Items, "status"); !strings.HasPrefix(st.Label, "Berth is paused (resource saver)") {
		t.Errorf("status line %q", st.Label)
	}
	for _, id := range []string{"port/9000/tcp", "stop", "restart", "shell", "dashboard"} {
		if it, ok := tray.Find(m.Items, id); !ok || it.Disabled || it.Hidden {
			t.Errorf("%s not usable while paused: %+v", id, it)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if l, w := r.engine.Asked(); l != lists || w != watches {
		t.Errorf("the tray asked the engine for %d lists and %d event streams after the pause", l-lists, w-watches)
	}
	agent.SetStatus(api.Status{State: api.StateRunning})
	r.scr.waitFor(t, "running again", iconIs(api.StateRunning))
	agent.SetStatus(api.Status{State: api.StatePaused, PausedSince: time.Now()})
	r.scr.waitFor(t, "paused again", iconIs(api.StatePaused))
	it, _ := r.scr.item("stop")
	r.app.Do(it.Action)
	r.scr.waitFor(t, "stopped", iconIs(api.StateStopped))
	if got := agent.CallLog(); !slices.Equal(got, []string{"stop"}) {
		t.Errorf("agent calls %v", got)
	}
}

func TestAppStopRestart(t *testing.T) {
	agent := &traytest.Agent{}
	r := newRig(t, agent, noStart())
	agent.SetStatus(api.Status{State: api.StateRunning})
	r.scr.waitFor(t, "running", iconIs(api.StateRunning))
	it, _ := r.scr.item("restart")
	r.app.Do(it.Action)
	r.scr.waitFor(t, "running again", func(m tray.Menu) bool {
		return m.Icon == api.StateRunning && slices.Equal(agent.CallLog(), []string{"stop --no-save", "start"})
	})
	it, _ = r.scr.item("stop")
	r.app.Do(it.Action)
	r.scr.waitFor(t, "stopped", iconIs(api.StateStopped))
}

func TestAppQuit(t *testing.T) {
	for _, c := range []struct {
		onQuit   tray.OnQuit
		answer   tray.QuitChoice
		asked    bool
		stopped  bool
		quitting bool
	}{
		{tray.OnQuitAsk, tray.QuitStopEngine, true, true, true},
		{tray.OnQuitAsk, tray.QuitLeaveRunning, true, false, true},
		{tray.OnQuitAsk, tray.QuitCancel, true, false, false},
		{tray.OnQuitStop, tray.QuitCancel, false, true, true},
		{tray.OnQuitLeave, tray.QuitCancel, false, false, true},
	} {
		t.Run(string(c.onQuit)+"/"+strings.TrimSpace(string(rune('0'+c.answer))), func(t *testing.T) {
			agent := &traytest.Agent{}
			r := newRig(t, agent, &tray.Settings{OnQuit: c.onQuit})
			r.desk.Answer(func(d *traytest.Desktop) { d.QuitAnswer = c.answer })
			agent.SetStatus(api.Status{State: api.StateRunning})
			r.scr.waitFor(t, "running", iconIs(api.StateRunning))
			it, _ := r.scr.item("quit")
			r.app.Do(it.Action)
			select {
			case <-r.quitted:
				if !c.quitting {
					t.Fatal("quit after cancel")
				}
			case <-time.After(300 * time.Millisecond):
				if c.quitting {
					t.Fatal("did not quit")
				}
			}
			if r.desk.Has("ask quit") != c.asked {
				t.Errorf("asked=%v", !c.asked)
			}
			if slices.Contains(agent.CallLog(), "stop") != c.stopped {
				t.Errorf("stopped=%v", !c.stopped)
			}
		})
	}
}

// TestAppQuitWithoutDialogTool: on a Linux desktop without zenity the
// quit question cannot be asked. The click must still quit the tray, leave
// the engine (and every container) running, and say so.
func TestAppQuitWithoutDialogTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no zenity, nor anything else
	agent := &traytest.Agent{}
	desk := &tray.Desktop{GOOS: "linux", Log: slog.New(slog.DiscardHandler)}
	r := newRigDialogs(t, agent, &tray.Settings{OnQuit: tray.OnQuitAsk}, desk)
	agent.SetStatus(api.Status{State: api.StateRunning})
	r.scr.waitFor(t, "running", iconIs(api.StateRunning))
	it, _ := r.scr.item("quit")
	r.app.Do(it.Action)
	select {
	case <-r.quitted:
	case <-time.After(3 * time.Second):
		t.Fatal("the quit click was lost")
	}
	if slices.Contains(agent.CallLog(), "stop") {
		t.Error("the engine was stopped without asking")
	}
	if !slices.ContainsFunc(r.desk.Log(), func(s string) bool {
		return strings.HasPrefix(s, "notify ") && strings.Contains(s, "still running") && strings.Contains(s, "zenity")
	}) {
		t.Errorf("no notification that the engine runs on and why: %v", r.desk.Log())
	}
}

func TestAppSettingsAndTroubleshoot(t *testing.T) {
	r := newRig(t, &traytest.Agent{}, noStart())
	r.scr.waitFor(t, "stopped", iconIs(api.StateStopped))
	do := func(id string) {
		t.Helper()
		it, ok := r.scr.item(id)
		if !ok {
			t.Fatalf("no %s", id)
		}
		r.app.Do(it.Action)
	}
	do("onquit-leave")
	r.scr.waitFor(t, "on quit: leave", func(m tray.Menu) bool { it, _ := tray.Find(m.Items, "onquit-leave"); return it.Checked })
	do("start-with-tray")
	r.scr.waitFor(t, "start with tray", func(m tray.Menu) bool { it, _ := tray.Find(m.Items, "start-with-tray"); return it.Checked })
	// The menu may show the change before the file is written.
	want := tray.Settings{StartEngine: true, OnQuit: tray.OnQuitLeave}
	var saved tray.Settings
	var serr error
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if saved, serr = tray.LoadSettings(filepath.Join(r.home, tray.SettingsFile)); serr == nil && saved == want {
			break
		}
	}
	if serr != nil || saved != want {
		t.Errorf("saved settings %+v %v", saved, serr)
	}
	do("settings")
	do("diagnose")
	do("reset") // not confirmed
	do("about")
	time.Sleep(100 * time.Millisecond)
	log := strings.Join(r.desk.Log(), "\n")
	for _, want := range []string{"edit " + filepath.Join(r.home, "config.yaml"), "run /bin/berth --machine default diagnose --output ",
		"reveal ", "confirm Reset Berth to factory defaults?", "info About Berth: Berth test"} {
		if !strings.Contains(log, want) {
			t.Errorf("missing %q in\n%s", want, log)
		}
	}
	if strings.Contains(log, "delete") {
		t.Errorf("reset without confirmation:\n%s", log)
	}
	r.desk.Answer(func(d *traytest.Desktop) { d.ConfirmAnswer = true })
	do("reset")
	time.Sleep(100 * time.Millisecond)
	if !r.desk.Has("run /bin/berth --machine default delete --force") {
		t.Errorf("confirmed reset did not delete: %v", r.desk.Log())
	}
}
