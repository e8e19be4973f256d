// Package traytest holds in-memory fakes of the tray's interfaces: an
// agent with an event stream, an engine, and a recorder for everything the
// tray would open, copy, notify or ask.
package traytest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/portfwd"
	"github.com/berth-dev/berth/tray"
)

// Agent is an in-memory host agent. The zero value has no agent running.
type Agent struct {
	// StartErr, when set, makes Start fail after the booting step.
	StartErr error
	// StepDelay is how long each start step takes.
	StepDelay time.Duration

	mu       sync.Mutex
	up       bool
	status   api.Status
	forwards []portfwd.Forward
	subs     []chan api.Event
	Calls    []string
}

var _ tray.Agent = (*Agent)(nil)

func (f *Agent) call(s string) {
	f.mu.Lock()
	f.Calls = append(f.Calls, s)
	f.mu.Unlock()
}

// CallLog returns the calls made so far.
func (f *Agent) CallLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.Calls)
}

// SetStatus makes the agent run (unless stopped) and announces st.
func (f *Agent) SetStatus(st api.Status) {
	f.mu.Lock()
	f.up = true
	f.status = st
	if !st.State.Up() {
		f.forwards = nil
	}
	f.publishLocked(api.Event{Type: "status", Status: &st})
	f.mu.Unlock()
}

// Vanish ends the agent without a word (a crash): streams close.
func (f *Agent) Vanish() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.up, f.forwards = false, nil
	for _, c := range f.subs {
		close(c)
	}
	f.subs = nil
}

// Forward opens (or changes) a forward and announces it.
func (f *Agent) Forward(fw portfwd.Forward) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forwards = slices.DeleteFunc(f.forwards, func(g portfwd.Forward) bool { return g.Key() == fw.Key() })
	if fw.State != portfwd.StateClosed {
		f.forwards = append(f.forwards, fw)
	}
	f.publishLocked(api.Event{Type: "forward", Forward: &fw})
}

func (f *Agent) publishLocked(ev api.Event) {
	ev.Time = time.Now()
	for _, c := range f.subs {
		c <- ev
	}
}

func (f *Agent) Events(ctx context.Context, fn func(api.Event) error) error {
	f.mu.Lock()
	if !f.up {
		f.mu.Unlock()
		return errors.New("connecting to the host agent: no agent")
	}
	ch := make(chan api.Event, 64)
	st := f.status
	ch <- api.Event{Time: time.Now(), Type: "status", Status: &st}
	f.subs = append(f.subs, ch)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		if i := slices.Index(f.subs, ch); i >= 0 {
			f.subs = slices.Delete(f.subs, i, i+1)
		}
		f.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-ch:
			if !ok {
				return errors.New("EOF")
			}
			if err := fn(ev); err != nil {
				return err
			}
		}
	}
}

func (f *Agent) Forwards(context.Context) ([]portfwd.Forward, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.up || f.status.State != api.StateRunning && f.status.State != api.StatePaused {
		return nil, errors.New("the engine is not running")
	}
	return slices.Clone(f.forwards), nil
}

func (f *Agent) AddForward(_ context.Context, spec string) error {
	f.call("add " + spec)
	sp, err := portfwd.ParseSpec(spec)
	if err != nil {
		return err
	}
	f.Forward(portfwd.Forward{Proto: sp.Proto, HostIP: "127.0.0.1", HostPort: sp.HostPort, GuestPort: sp.GuestPort,
		Source: portfwd.SourceManual, Spec: sp.String(), State: portfwd.StateActive})
	return nil
}

func (f *Agent) setPort(proto portfwd.Proto, port int, from, to portfwd.State) error {
	f.mu.Lock()
	var hit []portfwd.Forward
	for _, g := range f.forwards {
		if g.Proto == proto && g.HostPort == port && g.State == from {
			hit = append(hit, g)
		}
	}
	f.mu.Unlock()
	if len(hit) == 0 {
		return fmt.Errorf("no %s forward on %d/%s", from, port, proto)
	}
	for _, g := range hit {
		if to == api.ForwardPaused {
			c := g
			c.State = portfwd.StateClosed
			f.Forward(c)
		}
		g.State = to
		f.Forward(g)
	}
	return nil
}

// DashboardURL is what the fake's Dashboard answers.
const DashboardURL = "http://127.0.0.1:1/?token=fake"

func (f *Agent) Dashboard(context.Context) (string, error) {
	f.call("dashboard")
	return DashboardURL, nil
}

func (f *Agent) PauseForward(_ context.Context, proto portfwd.Proto, port int) error {
	f.call(fmt.Sprintf("pause %d/%s", port, proto))
	return f.setPort(proto, port, portfwd.StateActive, api.ForwardPaused)
}

func (f *Agent) ResumeForward(_ context.Context, proto portfwd.Proto, port int) error {
	f.call(fmt.Sprintf("resume %d/%s", port, proto))
	return f.setPort(proto, port, api.ForwardPaused, portfwd.StateActive)
}

func (f *Agent) Start(ctx context.Context, progress func(string)) error {
	f.call("start")
	step := func(st api.Status, line string) error {
		f.SetStatus(st)
		progress(line)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(f.StepDelay):
			return nil
		}
	}
	if err := step(api.Status{State: api.StateStarting, Phase: "booting"}, "Booting the VM..."); err != nil {
		return err
	}
	if f.StartErr != nil {
		f.SetStatus(api.Status{State: api.StateError, Error: f.StartErr.Error()})
		f.Vanish()
		return f.StartErr
	}
	if err := step(api.Status{State: api.StateStarting, Phase: "engine", Accelerator: "tcg"}, "VM up; starting the engine..."); err != nil {
		return err
	}
	f.SetStatus(api.Status{State: api.StateRunning, EngineVersion: "26.1.5", Accelerator: "tcg"})
	return nil
}

func (f *Agent) Stop(_ context.Context, save bool) error {
	if save {
		f.call("stop")
	} else {
		f.call("stop --no-save")
	}
	f.mu.Lock()
	up := f.up
	f.mu.Unlock()
	if !up {
		return nil
	}
	f.SetStatus(api.Status{State: api.StateStopping})
	f.SetStatus(api.Status{State: api.StateStopped})
	f.Vanish()
	return nil
}

// Engine is an in-memory engine.
type Engine struct {
	mu         sync.Mutex
	containers []engine.Container
	watchers   []chan struct{}
	Calls      []string
	lists      int
	watches    int
}

var _ tray.Engine = (*Engine)(nil)

// SetContainers replaces the container list and tells the watchers.
func (e *Engine) SetContainers(cs []engine.Container) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.containers = slices.Clone(cs)
	for _, w := range e.watchers {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

func (e *Engine) Containers(context.Context) ([]engine.Container, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lists++
	return slices.Clone(e.containers), nil
}

// Asked says how many container lists and event streams the tray asked
// for: each would reach the VM through the docker socket.
func (e *Engine) Asked() (lists, watches int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lists, e.watches
}

func (e *Engine) Watch(ctx context.Context, changed func()) error {
	w := make(chan struct{}, 1)
	e.mu.Lock()
	e.watches++
	e.watchers = append(e.watchers, w)
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.watchers = slices.DeleteFunc(e.watchers, func(c chan struct{}) bool { return c == w })
		e.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w:
			changed()
		}
	}
}

func (e *Engine) ContainerAction(_ context.Context, id, action string) error {
	e.mu.Lock()
	e.Calls = append(e.Calls, action+" "+id)
	e.mu.Unlock()
	return nil
}

func (e *Engine) DockerHost() string { return "unix:///fake/docker.sock" }

// CallLog returns the container actions so far.
func (e *Engine) CallLog() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.Calls)
}

// Desktop records what the tray opens, copies, notifies and asks; the
// answers to its questions are set in advance.
type Desktop struct {
	QuitAnswer    tray.QuitChoice
	ConfirmAnswer bool
	PromptAnswer  string

	mu  sync.Mutex
	log []string
}

var (
	_ tray.Opener    = (*Desktop)(nil)
	_ tray.Clipboard = (*Desktop)(nil)
	_ tray.Notifier  = (*Desktop)(nil)
	_ tray.Dialogs   = (*Desktop)(nil)
	_ tray.Runner    = (*Desktop)(nil)
)

func (d *Desktop) rec(s string) {
	d.mu.Lock()
	d.log = append(d.log, s)
	d.mu.Unlock()
}

// Log returns everything recorded, in order.
func (d *Desktop) Log() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.log)
}

// Has reports whether a recorded line starts with prefix.
func (d *Desktop) Has(prefix string) bool {
	return slices.ContainsFunc(d.Log(), func(s string) bool { return strings.HasPrefix(s, prefix) })
}

func (d *Desktop) OpenURL(url string) error { d.rec("open " + url); return nil }
func (d *Desktop) Terminal(title string, argv []string) error {
	d.rec("terminal " + strings.Join(argv, " "))
	return nil
}
func (d *Desktop) Edit(path string) error   { d.rec("edit " + path); return nil }
func (d *Desktop) Reveal(path string) error { d.rec("reveal " + path); return nil }
func (d *Desktop) Copy(text string) error   { d.rec("copy " + text); return nil }
func (d *Desktop) Notify(title, body, action string, _ func()) {
	d.rec("notify " + title + ": " + body + " [" + action + "]")
}

// Answer changes the answers under the lock, while the tray may be asking.
func (d *Desktop) Answer(fn func(d *Desktop)) {
	d.mu.Lock()
	fn(d)
	d.mu.Unlock()
}

func (d *Desktop) AskQuit() tray.QuitChoice {
	d.rec("ask quit")
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.QuitAnswer
}

func (d *Desktop) Confirm(title, _, _ string) bool {
	d.rec("confirm " + title)
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ConfirmAnswer
}

func (d *Desktop) Prompt(title, _ string) (string, bool) {
	d.rec("prompt " + title)
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.PromptAnswer, d.PromptAnswer != ""
}
func (d *Desktop) Info(title, text string) { d.rec("info " + title + ": " + text) }
func (d *Desktop) Run(_ context.Context, argv []string) (string, error) {
	d.rec("run " + strings.Join(argv, " "))
	return "", nil
}

// Engines is a fake of tray.Engines: a switch moves Current unless Refuse
// is set; Windows is the Windows engine's state.
type Engines struct {
	mu      sync.Mutex
	Current string
	Windows string
	Refuse  error
	calls   []string
}

// Switch implements tray.Engines.
func (e *Engines) Switch(_ context.Context, to string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, "switch "+to)
	if e.Refuse != nil {
		return e.Refuse
	}
	e.Current = to
	return nil
}

// Default implements tray.Engines.
func (e *Engines) Default() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.Current
}

// WindowsEngine implements tray.Engines.
func (e *Engines) WindowsEngine(context.Context) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.Windows
}

// CallLog is the switches asked for.
func (e *Engines) CallLog() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.calls...)
}

// Set changes the fake under its lock.
func (e *Engines) Set(fn func(e *Engines)) {
	e.mu.Lock()
	fn(e)
	e.mu.Unlock()
}
