// Package tray is Berth's tray app without its GUI: a pure menu model
// (machine status, port forwards and containers in, a tree of items out),
// the controller that follows the host agent's event stream and runs the
// items' actions, and the narrow interfaces those actions go through
// (Agent, Engine, Opener, Clipboard, Notifier, Dialogs), with one real
// implementation per OS in its own file. The GUI adapter that draws the
// model with a system tray library is package tray/native; tests drive the
// controller with fakes and never need a screen.
package tray

import (
	"fmt"
	"strings"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/portfwd"
)

// ActionKind says what clicking an item does.
type ActionKind int

const (
	ActNone ActionKind = iota
	ActStart
	ActStop
	ActRestart
	ActOpenURL        // Arg: the URL
	ActCopy           // Arg: the text
	ActPauseForward   // Arg: a forward key, "8080/tcp"
	ActResumeForward  // Arg: a forward key
	ActAddForward     // asks for a spec
	ActContainerStop  // Arg: container ID
	ActContainerStart // Arg: container ID
	ActContainerRestart
	ActContainerLogs
	ActShell
	ActDashboard
	ActSettings
	ActSetStartWithTray // Arg: "true" or "false"
	ActSetOnQuit        // Arg: an OnQuit value
	ActViewLogs
	ActDiagnose
	ActReset
	ActSwitchEngine // Arg: the engine to switch to, "windows" or "linux"
	ActAbout
	ActQuit
)

// Action is what an item does when clicked.
type Action struct {
	Kind ActionKind
	Arg  string
}

// Item is one menu entry. ID is stable across rebuilds for the same thing
// (a forward, a container), so an adapter can update entries in place.
type Item struct {
	ID        string
	Label     string
	Tooltip   string
	Disabled  bool
	Hidden    bool
	Separator bool
	Checkable bool
	Checked   bool
	Action    Action
	Children  []Item
}

// Menu is everything the tray shows.
type Menu struct {
	Icon    api.State
	Tooltip string
	Items   []Item
}

// Snapshot is the input of Build: what the tray knows right now.
type Snapshot struct {
	GOOS       string
	Status     api.Status
	Forwards   []portfwd.Forward  // paused ones have State api.ForwardPaused
	Containers []engine.Container // running
	// Progress is the last start-up step, shown while starting.
	Progress string
	// Busy is set while a start, stop or restart from the tray runs.
	Busy     bool
	Settings Settings
	// DefaultEngine is the engine docker's default points at, "linux"
	// or "windows" (Windows only; "" elsewhere).
	DefaultEngine string
	// WindowsEngine is the Windows engine's state as berth-service gives
	// it ("running", or what stands in the way); Windows only.
	WindowsEngine string
}

// Build turns a snapshot into the menu: a pure function, so every state is
// tested without a GUI.
func Build(s Snapshot) Menu {
	st := s.Status.State
	if st == "" {
		st = api.StateStopped
	}
	// A paused machine is up: what the menu does resumes it.
	up := st.Up()
	m := Menu{Icon: st, Tooltip: tooltip(s, st)}
	m.Items = []Item{
		{ID: "status", Label: statusLine(s, st), Disabled: true},
		{ID: "status-detail", Label: detailLine(s, st), Disabled: true, Hidden: detailLine(s, st) == ""},
		{ID: "sep-status", Separator: true},
		{ID: "start", Label: "Start", Action: Action{Kind: ActStart},
			Disabled: s.Busy || st != api.StateStopped && st != api.StateError},
		{ID: "stop", Label: "Stop", Action: Action{Kind: ActStop},
			Disabled: s.Busy || !up && st != api.StateStarting && st != api.StateError},
		{ID: "restart", Label: "Restart", Action: Action{Kind: ActRestart},
			Disabled: s.Busy || !up && st != api.StateError},
		{ID: "sep-lifecycle", Separator: true},
		portsMenu(s, up),
		containersMenu(s, up),
		{ID: "dashboard", Label: "Open dashboard", Tooltip: "Containers, logs and ports in your browser",
			Action: Action{Kind: ActDashboard}, Disabled: !up},
		{ID: "shell", Label: "Open shell in VM", Action: Action{Kind: ActShell}, Disabled: !up},
		{ID: "sep-tools", Separator: true},
		{ID: "settings", Label: "Settings…", Tooltip: "Open the configuration in your editor", Action: Action{Kind: ActSettings}},
		traySettingsMenu(s.Settings),
		troubleshootMenu(),
		{ID: "windows-engine", Label: "Windows engine: " + orUnknown(s.WindowsEngine), Disabled: true, Hidden: s.GOOS != "windows"},
		switchItem(s),
		{ID: "sep-app", Separator: true},
		{ID: "about", Label: "About Berth", Action: Action{Kind: ActAbout}},
		{ID: "quit", Label: "Quit", Action: Action{Kind: ActQuit}},
	}
	return m
}

// switchItem is "Switch to Windows containers" or "Switch to Linux
// containers", whichever engine docker's default does not point at
// (Windows only). Both engines keep running; a switch the features or
// berth-service refuse says why in a notification.
func switchItem(s Snapshot) Item {
	to, label := "windows", "Switch to Windows containers"
	if s.DefaultEngine == "windows" {
		to, label = "linux", "Switch to Linux containers"
	}
	return Item{ID: "switch-engine", Label: label, Hidden: s.GOOS != "windows",
		Tooltip: "Make the " + to + " engine docker's default; the other keeps running",
		Action:  Action{Kind: ActSwitchEngine, Arg: to}}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

var stateWords = map[api.State]string{
	api.StateStopped:  "stopped",
	api.StateStarting: "starting",
	api.StateRunning:  "running",
	api.StateDegraded: "degraded",
	api.StatePaused:   "paused",
	api.StateStopping: "stopping",
	api.StateError:    "error",
}

func stateWord(st api.State) string {
	if w, ok := stateWords[st]; ok {
		return w
	}
	return string(st)
}

// statusLine is the first, disabled item: state, engine version, accelerator.
func statusLine(s Snapshot, st api.State) string {
	parts := []string{"Berth is " + stateWord(st)}
	if st == api.StatePaused {
		parts[0] += " (resource saver)"
	}
	if st.Up() {
		if v := s.Status.EngineVersion; v != "" {
			parts = append(parts, "Docker "+v)
		}
		if a := s.Status.Accelerator; a != "" {
			parts = append(parts, a)
		}
	}
	return strings.Join(parts, " · ")
}

// detailLine says what is happening or what went wrong; empty when nothing
// needs saying.
func detailLine(s Snapshot, st api.State) string {
	switch st {
	case api.StateStarting:
		if s.Progress != "" {
			return s.Progress
		}
		if s.Status.Phase != "" {
			return phaseWords(s.Status.Phase)
		}
		return "Starting…"
	case api.StateStopping:
		return "Stopping the engine and the VM…"
	case api.StatePaused:
		d := "Nothing ran"
		if !s.Status.PausedSince.IsZero() {
			d += " · paused since " + s.Status.PausedSince.Local().Format("15:04")
		}
		return d + "; the next docker command resumes it"
	case api.StateError, api.StateDegraded:
		return firstLine(s.Status.Error)
	}
	return ""
}

func phaseWords(phase string) string {
	switch phase {
	case "preparing":
		return "Preparing the machine…"
	case "booting":
		return "Booting the VM…"
	case "engine":
		return "Starting the engine…"
	}
	return phase + "…"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	const maxLen = 120
	if r := []rune(s); len(r) > maxLen {
		s = string(r[:maxLen-1]) + "…"
	}
	return s
}

func tooltip(s Snapshot, st api.State) string {
	t := "Berth: " + stateWord(st)
	if d := detailLine(s, st); d != "" {
		t += " — " + d
	}
	return t
}

func portsMenu(s Snapshot, up bool) Item {
	// The fixed entries come first, so that a GUI adapter can append and
	// remove the forwards below them without touching the separator.
	it := Item{ID: "ports", Label: "Ports", Disabled: !up, Children: []Item{
		{ID: "ports-add", Label: "Forward a port…", Action: Action{Kind: ActAddForward}, Disabled: !up},
		{ID: "ports-sep", Separator: true},
	}}
	for _, e := range PortEntries(s.Forwards, s.Containers) {
		it.Children = append(it.Children, portItem(e))
	}
	if len(it.Children) == 2 {
		it.Children = append(it.Children, Item{ID: "ports-none", Label: "No forwarded ports", Disabled: true})
	}
	return it
}

func portItem(e PortEntry) Item {
	id := "port/" + e.Key
	it := Item{ID: id, Label: e.Label(), Tooltip: e.Reason}
	open := Item{ID: id + "/open", Label: "Open " + e.URL(), Action: Action{Kind: ActOpenURL, Arg: e.URL()},
		Hidden: e.URL() == "", Disabled: e.State != portfwd.StateActive}
	cp := Item{ID: id + "/copy", Label: "Copy address", Action: Action{Kind: ActCopy, Arg: e.Address()}}
	toggle := Item{ID: id + "/toggle", Label: "Stop forwarding", Action: Action{Kind: ActPauseForward, Arg: e.Key}}
	if e.State == api.ForwardPaused {
		toggle.Label, toggle.Action.Kind = "Forward again", ActResumeForward
	}
	it.Children = []Item{open, cp, toggle}
	if e.State == portfwd.StateFailed && e.Reason != "" {
		it.Children = append(it.Children, Item{ID: id + "/reason", Label: "Failed: " + firstLine(e.Reason), Disabled: true})
	}
	return it
}

func containersMenu(s Snapshot, up bool) Item {
	it := Item{ID: "containers", Label: "Containers", Disabled: !up}
	for _, c := range s.Containers {
		id := "container/" + c.ID
		label := c.Name
		if c.Image != "" {
			label += " (" + c.Image + ")"
		}
		if c.State != "" && c.State != "running" {
			label += " — " + c.State
		}
		it.Children = append(it.Children, Item{ID: id, Label: label, Children: []Item{
			{ID: id + "/stop", Label: "Stop", Action: Action{Kind: ActContainerStop, Arg: c.ID}},
			{ID: id + "/restart", Label: "Restart", Action: Action{Kind: ActContainerRestart, Arg: c.ID}},
			{ID: id + "/logs", Label: "Logs", Action: Action{Kind: ActContainerLogs, Arg: c.ID}},
		}})
	}
	if len(it.Children) == 0 {
		it.Children = []Item{{ID: "containers-none", Label: "No running containers", Disabled: true}}
	}
	return it
}

func traySettingsMenu(set Settings) Item {
	onQuit := func(v OnQuit, label string) Item {
		return Item{ID: "onquit-" + string(v), Label: label, Checkable: true, Checked: set.OnQuit == v,
			Action: Action{Kind: ActSetOnQuit, Arg: string(v)}}
	}
	return Item{ID: "tray-settings", Label: "Tray settings", Children: []Item{
		{ID: "start-with-tray", Label: "Start the engine with the tray", Checkable: true, Checked: set.StartEngine,
			Action: Action{Kind: ActSetStartWithTray, Arg: fmt.Sprint(!set.StartEngine)}},
		{ID: "onquit-sep", Separator: true},
		{ID: "onquit-title", Label: "When quitting the tray:", Disabled: true},
		onQuit(OnQuitAsk, "Ask whether to stop the engine"),
		onQuit(OnQuitStop, "Stop the engine"),
		onQuit(OnQuitLeave, "Leave the engine running"),
	}}
}

func troubleshootMenu() Item {
	return Item{ID: "troubleshoot", Label: "Troubleshoot", Children: []Item{
		{ID: "view-logs", Label: "View logs", Action: Action{Kind: ActViewLogs}},
		{ID: "diagnose", Label: "Create diagnostics bundle", Action: Action{Kind: ActDiagnose}},
		{ID: "reset", Label: "Reset to factory defaults…", Tooltip: "Deletes the machine with its images, containers and volumes, and resets the configuration",
			Action: Action{Kind: ActReset}},
	}}
}

// Find returns the item with id, searching the whole tree.
func Find(items []Item, id string) (Item, bool) {
	for _, it := range items {
		if it.ID == id {
			return it, true
		}
		if c, ok := Find(it.Children, id); ok {
			return c, true
		}
	}
	return Item{}, false
}
