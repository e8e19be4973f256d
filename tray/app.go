package tray

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/portfwd"
)

// reconnectDelay is how soon the tray dials the agent again when none
// answers (the CLI may start one at any moment).
const reconnectDelay = 500 * time.Millisecond

// Options wire an App.
type Options struct {
	GOOS    string
	Home    string // the state directory ($BERTH_HOME)
	Machine string
	// BerthExe is the berth CLI, for the terminal and the bundled commands.
	BerthExe string
	Version  string

	Agent     Agent
	Engine    Engine
	Opener    Opener
	Clipboard Clipboard
	Notifier  Notifier
	Dialogs   Dialogs
	Runner    Runner
	// Engines switches docker's default between the Linux and the
	// Windows engine; nil where there is no Windows engine.
	Engines Engines
	Log     *slog.Logger
}

// App is the tray's controller: it follows the agent's events, keeps the
// snapshot the menu is built from, redraws on every change, and runs the
// menu's actions.
type App struct {
	o Options

	renderMu  sync.Mutex
	mu        sync.Mutex
	snap      Snapshot
	forwards  map[string]portfwd.Forward // by Forward.Key()
	lastErr   string                     // a failed start, shown while no agent runs
	saveMu    sync.Mutex                 // orders settings saves
	engineOff context.CancelFunc         // stops the engine watcher
	renderer  Renderer
	quit      func()
	ctx       context.Context
	kick      chan struct{}
	actions   sync.WaitGroup
}

// New returns an App; Run starts it.
func New(o Options) *App {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	set, err := LoadSettings(filepath.Join(o.Home, SettingsFile))
	if err != nil {
		o.Log.Warn("tray settings", "err", err)
	}
	return &App{o: o, forwards: map[string]portfwd.Forward{}, kick: make(chan struct{}, 1),
		snap: Snapshot{GOOS: o.GOOS, Settings: set, Status: api.Status{Machine: o.Machine}}}
}

// Run follows the agent until ctx ends. When no agent answers at first and
// the settings say so, it starts the machine. quit ends the tray.
func (a *App) Run(ctx context.Context, r Renderer, quit func()) {
	a.mu.Lock()
	a.renderer, a.quit, a.ctx = r, quit, ctx
	a.mu.Unlock()
	a.render()
	a.refreshEngines(ctx)
	first := true
	for ctx.Err() == nil {
		connected := false
		err := a.o.Agent.Events(ctx, func(ev api.Event) error {
			if !connected {
				connected = true
				a.resyncForwards(ctx)
			}
			a.onEvent(ctx, ev)
			return nil
		})
		if ctx.Err() != nil {
			break
		}
		a.o.Log.Debug("agent events ended", "err", err)
		a.agentGone()
		if first && !connected && a.Settings().StartEngine {
			a.Do(Action{Kind: ActStart})
		}
		first = false
		select {
		case <-ctx.Done():
		case <-a.kick:
		case <-time.After(reconnectDelay):
		}
	}
	a.mu.Lock()
	if a.engineOff != nil {
		a.engineOff()
	}
	a.mu.Unlock()
	a.actions.Wait()
}

// Snapshot returns what the menu is built from.
func (a *App) Snapshot() Snapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.snapshotLocked()
}

func (a *App) snapshotLocked() Snapshot {
	s := a.snap
	s.Forwards = make([]portfwd.Forward, 0, len(a.forwards))
	for _, f := range a.forwards {
		s.Forwards = append(s.Forwards, f)
	}
	portfwd.Sort(s.Forwards)
	return s
}

// Settings returns the tray's settings.
func (a *App) Settings() Settings {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.snap.Settings
}

// render draws the current snapshot. renderMu keeps the build and the draw
// together: a menu built from an older snapshot never lands last.
func (a *App) render() {
	a.renderMu.Lock()
	defer a.renderMu.Unlock()
	a.mu.Lock()
	r := a.renderer
	m := Build(a.snapshotLocked())
	a.mu.Unlock()
	if r != nil {
		r.Render(m)
	}
}

func (a *App) update(fn func(s *Snapshot)) {
	a.mu.Lock()
	fn(&a.snap)
	a.mu.Unlock()
	a.render()
}

func (a *App) onEvent(ctx context.Context, ev api.Event) {
	switch {
	case ev.Status != nil:
		a.mu.Lock()
		a.snap.Status = *ev.Status
		// Paused is up: the engine's event stream stalls while the VM
		// is paused, and the lists stay; nothing here wakes it.
		up := ev.Status.State.Up()
		if ev.Status.State != api.StateStarting {
			a.snap.Progress = ""
		}
		if !up {
			clear(a.forwards)
			a.snap.Containers = nil
		} else {
			// A machine that runs supersedes an earlier failed start; a
			// late event of the failed agent does not.
			a.lastErr = ""
		}
		a.mu.Unlock()
		a.engineWatch(ctx, up)
	case ev.Forward != nil:
		a.mu.Lock()
		if ev.Forward.State == portfwd.StateClosed {
			delete(a.forwards, ev.Forward.Key())
		} else {
			a.forwards[ev.Forward.Key()] = *ev.Forward
		}
		a.mu.Unlock()
	default:
		return
	}
	a.render()
}

// agentGone: no agent answers. A failed start stays on show until the
// next one.
func (a *App) agentGone() {
	a.update(func(s *Snapshot) {
		if s.Busy && s.Status.State == api.StateStarting {
			return // our own start is on its way
		}
		clear(a.forwards)
		s.Containers = nil
		s.Status = api.Status{Machine: a.o.Machine, State: api.StateStopped}
		if a.lastErr != "" {
			s.Status.State, s.Status.Error = api.StateError, a.lastErr
		}
	})
	a.engineWatch(a.ctx, false)
}

func (a *App) resyncForwards(ctx context.Context) {
	fs, err := a.o.Agent.Forwards(ctx)
	if err != nil {
		return // not running yet: forwards come with the events
	}
	a.mu.Lock()
	clear(a.forwards)
	for _, f := range fs {
		a.forwards[f.Key()] = f
	}
	a.mu.Unlock()
}

// engineWatch follows the engine's containers while the machine is up.
func (a *App) engineWatch(ctx context.Context, up bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !up {
		if a.engineOff != nil {
			a.engineOff()
			a.engineOff = nil
		}
		return
	}
	if a.engineOff != nil || a.o.Engine == nil || ctx == nil {
		return
	}
	wctx, cancel := context.WithCancel(ctx)
	a.engineOff = cancel
	go a.followEngine(wctx)
}

func (a *App) followEngine(ctx context.Context) {
	for ctx.Err() == nil {
		a.refreshContainers(ctx)
		err := a.o.Engine.Watch(ctx, func() { a.refreshContainers(ctx) })
		if ctx.Err() != nil {
			return
		}
		a.o.Log.Debug("engine events ended", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (a *App) refreshContainers(ctx context.Context) {
	cs, err := a.o.Engine.Containers(ctx)
	if err != nil {
		return
	}
	a.mu.Lock()
	if ctx.Err() == nil {
		a.snap.Containers = cs
	}
	a.mu.Unlock()
	a.render()
}

// Show is what a second copy of the tray asks for.
func (a *App) Show() {
	st := a.Snapshot()
	a.o.Notifier.Notify("Berth is running", Build(st).Tooltip+" — its menu is in the system tray.", "", nil)
}

// Do runs an action without blocking the caller (a click handler).
func (a *App) Do(act Action) {
	a.actions.Add(1)
	go func() {
		defer a.actions.Done()
		if err := a.do(act); err != nil {
			a.o.Log.Warn("tray action", "action", act.Kind, "arg", act.Arg, "err", err)
			a.o.Notifier.Notify("Berth", err.Error(), "", nil)
		}
	}()
}

func (a *App) context() context.Context {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx == nil {
		return context.Background()
	}
	return a.ctx
}

func (a *App) do(act Action) error {
	ctx := a.context()
	switch act.Kind {
	case ActStart:
		return a.start(ctx)
	case ActStop:
		return a.stop(ctx, true)
	case ActRestart:
		// A fresh engine, as `berth restart`: the VM is not saved.
		if err := a.stop(ctx, false); err != nil {
			return err
		}
		return a.start(ctx)
	case ActOpenURL:
		return a.o.Opener.OpenURL(act.Arg)
	case ActCopy:
		return a.o.Clipboard.Copy(act.Arg)
	case ActPauseForward, ActResumeForward:
		proto, port, err := ParseForwardKey(act.Arg)
		if err != nil {
			return err
		}
		if act.Kind == ActPauseForward {
			return a.o.Agent.PauseForward(ctx, proto, port)
		}
		return a.o.Agent.ResumeForward(ctx, proto, port)
	case ActAddForward:
		spec, ok := a.o.Dialogs.Prompt("Forward a port",
			"Host port to forward to the VM: PORT, HOSTPORT:GUESTPORT, [HOSTIP:]HOSTPORT:GUESTPORT, with /udp for UDP")
		if !ok || spec == "" {
			return nil
		}
		return a.o.Agent.AddForward(ctx, spec)
	case ActContainerStop:
		return a.o.Engine.ContainerAction(ctx, act.Arg, "stop")
	case ActContainerRestart:
		return a.o.Engine.ContainerAction(ctx, act.Arg, "restart")
	case ActContainerLogs:
		return a.o.Opener.Terminal("Logs", []string{"docker", "--host", a.o.Engine.DockerHost(), "logs", "--follow", act.Arg})
	case ActShell:
		return a.o.Opener.Terminal("Berth shell", a.berth("shell"))
	case ActDashboard:
		url, err := a.o.Agent.Dashboard(ctx)
		if err != nil {
			return err
		}
		return a.o.Opener.OpenURL(url)
	case ActSettings:
		p := filepath.Join(a.o.Home, config.FileName)
		if err := os.MkdirAll(a.o.Home, 0o700); err != nil {
			return err
		}
		if err := config.WriteDefault(p); err != nil {
			return err
		}
		return a.o.Opener.Edit(p)
	case ActSetStartWithTray:
		on, err := strconv.ParseBool(act.Arg)
		if err != nil {
			return err
		}
		return a.saveSettings(func(s *Settings) { s.StartEngine = on })
	case ActSetOnQuit:
		return a.saveSettings(func(s *Settings) { s.OnQuit = OnQuit(act.Arg) })
	case ActViewLogs:
		return a.viewLogs()
	case ActDiagnose:
		return a.diagnose(ctx)
	case ActReset:
		return a.reset(ctx)
	case ActAbout:
		a.o.Dialogs.Info("About Berth", fmt.Sprintf("Berth %s\nThe Docker engine in a lightweight VM.\n\n%s", a.o.Version, Build(a.Snapshot()).Items[0].Label))
		return nil
	case ActQuit:
		return a.quitApp(ctx)
	case ActSwitchEngine:
		return a.switchEngine(ctx, act.Arg)
	}
	return nil
}

func (a *App) berth(args ...string) []string {
	return append([]string{a.o.BerthExe, "--machine", a.o.Machine}, args...)
}

func (a *App) viewLogs() error {
	return a.o.Opener.Terminal("Berth logs", a.berth("logs", "--follow"))
}

// setBusy marks a start or stop from the tray; false when one runs.
func (a *App) setBusy(state api.State) bool {
	a.mu.Lock()
	if a.snap.Busy {
		a.mu.Unlock()
		return false
	}
	a.snap.Busy = true
	if state != "" {
		a.snap.Status.State, a.snap.Status.Error = state, ""
	}
	a.mu.Unlock()
	a.render()
	return true
}

func (a *App) start(ctx context.Context) error {
	if !a.setBusy(api.StateStarting) {
		return nil
	}
	a.mu.Lock()
	a.lastErr = ""
	a.snap.Progress = "Starting…"
	a.mu.Unlock()
	select { // follow the new agent's events as soon as it listens
	case a.kick <- struct{}{}:
	default:
	}
	err := a.o.Agent.Start(ctx, func(line string) {
		a.update(func(s *Snapshot) { s.Progress = line })
	})
	a.update(func(s *Snapshot) {
		s.Busy, s.Progress = false, ""
		if err != nil {
			a.lastErr = err.Error()
			s.Status.State, s.Status.Error = api.StateError, err.Error()
		}
	})
	if err != nil {
		a.o.Notifier.Notify("Berth could not start", firstLine(err.Error()), "View logs", func() { _ = a.viewLogs() })
	}
	return nil
}

func (a *App) stop(ctx context.Context, save bool) error {
	if !a.setBusy(api.StateStopping) {
		return nil
	}
	err := a.o.Agent.Stop(ctx, save)
	a.update(func(s *Snapshot) { s.Busy = false })
	select {
	case a.kick <- struct{}{}:
	default:
	}
	if err != nil {
		return fmt.Errorf("stopping the engine: %w", err)
	}
	return nil
}

func (a *App) saveSettings(fn func(*Settings)) error {
	// One save at a time, in the order of the changes: two quick clicks
	// must not leave the older settings on disk.
	a.saveMu.Lock()
	defer a.saveMu.Unlock()
	a.mu.Lock()
	fn(&a.snap.Settings)
	s := a.snap.Settings
	a.mu.Unlock()
	a.render()
	if err := os.MkdirAll(a.o.Home, 0o700); err != nil {
		return err
	}
	return SaveSettings(filepath.Join(a.o.Home, SettingsFile), s)
}

func (a *App) diagnose(ctx context.Context) error {
	dir, err := os.UserHomeDir()
	if err != nil {
		dir = a.o.Home
	}
	out := filepath.Join(dir, "berth-diagnose-"+time.Now().Format("20060102-150405")+".tar.gz")
	if msg, err := a.o.Runner.Run(ctx, a.berth("diagnose", "--output", out)); err != nil {
		return fmt.Errorf("creating the diagnostics bundle: %w: %s", err, msg)
	}
	a.o.Notifier.Notify("Diagnostics bundle created", out, "Show", func() { _ = a.o.Opener.Reveal(out) })
	return a.o.Opener.Reveal(out)
}

// reset deletes the machine and its data and puts the default config back
// (the old one is kept next to it), after the user agrees.
func (a *App) reset(ctx context.Context) error {
	if !a.o.Dialogs.Confirm("Reset Berth to factory defaults?",
		"This deletes the machine with all its images, containers and volumes, and resets the configuration (the current one is kept as a backup).",
		"Reset") {
		return nil
	}
	if !a.setBusy(api.StateStopping) {
		return errors.New("a start or stop is in progress: try again when it ends")
	}
	msg, err := a.o.Runner.Run(ctx, a.berth("delete", "--force"))
	a.update(func(s *Snapshot) { s.Busy = false })
	if err != nil && !isNoMachine(msg) {
		return fmt.Errorf("deleting the machine: %w: %s", err, msg)
	}
	p := filepath.Join(a.o.Home, config.FileName)
	if _, err := os.Stat(p); err == nil {
		if err := os.Rename(p, p+".bak-"+time.Now().Format("20060102-150405")); err != nil {
			return err
		}
	}
	if err := config.WriteDefault(p); err != nil {
		return err
	}
	a.o.Notifier.Notify("Berth was reset", "The machine was deleted and the configuration reset to its defaults.", "", nil)
	if a.Settings().StartEngine {
		return a.start(ctx)
	}
	return nil
}

func isNoMachine(msg string) bool {
	return strings.Contains(msg, "does not exist")
}

func (a *App) quitApp(ctx context.Context) error {
	choice := QuitLeaveRunning
	switch a.Settings().OnQuit {
	case OnQuitStop:
		choice = QuitStopEngine
	case OnQuitAsk:
		st := a.Snapshot().Status.State
		if st == api.StateStopped || st == "" {
			break // nothing to ask about
		}
		choice = a.o.Dialogs.AskQuit()
	}
	switch choice {
	case QuitCancel:
		return nil
	case QuitNotAsked:
		// The user asked to quit and could not be asked more, so the tray
		// quits (a lost click is worse) and leaves the engine running: that
		// interrupts no container and loses nothing, and one command stops
		// it, while a stop cannot be undone. Docker Desktop stops its
		// engine when it quits, but it owns its engine; Berth's runs in the
		// host agent for the CLI too, and the tray is one of its clients.
		a.o.Log.Warn("quit without asking whether to stop the engine: no dialog could be shown; the engine keeps running")
		a.o.Notifier.Notify("Berth quit; the engine is still running",
			"No dialog could ask whether to stop it (install zenity). Run `berth stop` to stop it, "+
				"or choose under \"When quitting the tray\" in the menu.", "", nil)
	case QuitStopEngine:
		if err := a.o.Agent.Stop(ctx, true); err != nil {
			a.o.Log.Warn("stopping the engine on quit", "err", err)
		}
	}
	a.mu.Lock()
	q := a.quit
	a.mu.Unlock()
	if q != nil {
		q()
	}
	return nil
}

// switchEngine makes engine docker's default, then shows both engines
// as they now are. A refusal (features off or waiting for a restart, no
// berth-service) comes back whole, for the notification.
func (a *App) switchEngine(ctx context.Context, engine string) error {
	if a.o.Engines == nil {
		return errors.New("windows containers run on Windows only")
	}
	err := a.o.Engines.Switch(ctx, engine)
	a.refreshEngines(ctx)
	return err
}

// refreshEngines reads the default engine and the Windows engine's state.
func (a *App) refreshEngines(ctx context.Context) {
	if a.o.Engines == nil {
		return
	}
	dflt, win := a.o.Engines.Default(), a.o.Engines.WindowsEngine(ctx)
	a.update(func(s *Snapshot) { s.DefaultEngine, s.WindowsEngine = dflt, win })
}
