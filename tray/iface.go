package tray

import (
	"context"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/portfwd"
)

// Agent is what the tray needs of a machine's host agent. The real one
// (LocalAgent) wraps hostagent/api and hostagent/lifecycle, as the CLI
// does; tests use an in-memory fake.
type Agent interface {
	// Events follows the agent's event stream (the first event is the
	// current status) until fn fails, ctx ends or the stream ends; it fails
	// at once when no agent runs.
	Events(ctx context.Context, fn func(api.Event) error) error
	Forwards(ctx context.Context) ([]portfwd.Forward, error)
	AddForward(ctx context.Context, spec string) error
	PauseForward(ctx context.Context, proto portfwd.Proto, port int) error
	ResumeForward(ctx context.Context, proto portfwd.Proto, port int) error
	// Start starts the machine and returns once the engine answers;
	// progress gets one line per step.
	Start(ctx context.Context, progress func(string)) error
	// Stop stops the machine; save lets fastStart save the VM for a
	// fast next start (false: a fresh engine, as for Restart).
	Stop(ctx context.Context, save bool) error
	// Dashboard is the address of the machine's web page, with its token.
	Dashboard(ctx context.Context) (string, error)
}

// Engines is the two engines side by side on Windows.
type Engines interface {
	// Switch makes engine ("linux" or "windows") docker's default.
	Switch(ctx context.Context, engine string) error
	// Default is the engine docker's current context points at.
	Default() string
	// WindowsEngine is the Windows engine's state in a few words.
	WindowsEngine(ctx context.Context) string
}

// Engine is the Docker engine of the running machine.
type Engine interface {
	Containers(ctx context.Context) ([]engine.Container, error)
	// Watch calls changed after every container event until ctx ends or
	// the stream fails.
	Watch(ctx context.Context, changed func()) error
	// ContainerAction is "stop" or "restart".
	ContainerAction(ctx context.Context, id, action string) error
	// DockerHost is the DOCKER_HOST value that reaches the engine.
	DockerHost() string
}

// Opener opens things in the user's desktop.
type Opener interface {
	OpenURL(url string) error
	// Terminal opens a terminal window running argv.
	Terminal(title string, argv []string) error
	// Edit opens a text file in the user's editor.
	Edit(path string) error
	// Reveal shows a file in the file manager.
	Reveal(path string) error
}

// Clipboard holds text for pasting.
type Clipboard interface {
	Copy(text string) error
}

// Notifier shows a desktop notification; with an action label, onAction
// runs when the user picks it.
type Notifier interface {
	Notify(title, body, action string, onAction func())
}

// QuitChoice is the answer to "stop the engine?" on quit.
type QuitChoice int

const (
	QuitCancel QuitChoice = iota
	QuitStopEngine
	QuitLeaveRunning
	// QuitNotAsked: no dialog could be shown (a Linux desktop without
	// zenity), so the user could not answer; the tray decides.
	QuitNotAsked
)

// Dialogs are the few questions the tray asks.
type Dialogs interface {
	AskQuit() QuitChoice
	Confirm(title, text, okLabel string) bool
	// Prompt asks for one line of text; ok is false when cancelled.
	Prompt(title, text string) (answer string, ok bool)
	Info(title, text string)
}

// Runner runs a berth command to completion (diagnose, delete).
type Runner interface {
	Run(ctx context.Context, argv []string) (output string, err error)
}

// Renderer draws the menu; the GUI adapter implements it.
type Renderer interface {
	Render(Menu)
}
