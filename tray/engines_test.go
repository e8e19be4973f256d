package tray_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/tray"
	"github.com/berth-dev/berth/tray/traytest"
)

// On Windows the tray switches docker's default between the engines: the
// item flips to the other engine after a switch; a refused switch (the
// Containers feature waiting for a restart) changes nothing and its
// reason is notified whole.
func TestAppSwitchEngine(t *testing.T) {
	agent := &traytest.Agent{}
	engines := &traytest.Engines{Current: "linux", Windows: "running"}
	desk := &traytest.Desktop{}
	scr := &screen{}
	app := tray.New(tray.Options{GOOS: "windows", Home: t.TempDir(), Machine: "default", BerthExe: "/bin/berth", Version: "test",
		Agent: agent, Engine: &traytest.Engine{}, Opener: desk, Clipboard: desk, Notifier: desk, Dialogs: desk, Runner: desk,
		Engines: engines})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { app.Run(ctx, scr, cancel); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	agent.SetStatus(api.Status{State: api.StateRunning})
	label := func(want string) func(tray.Menu) bool {
		return func(m tray.Menu) bool { it, _ := tray.Find(m.Items, "switch-engine"); return it.Label == want }
	}
	// The switch item and the engine's line may come in separate renders.
	scr.waitFor(t, "offers Windows, the Windows engine running", func(m tray.Menu) bool {
		w, _ := tray.Find(m.Items, "windows-engine")
		return label("Switch to Windows containers")(m) && w.Label == "Windows engine: running"
	})
	it, _ := scr.item("switch-engine")
	app.Do(it.Action)
	scr.waitFor(t, "offers Linux", label("Switch to Linux containers"))

	refusal := errors.New("cannot switch to linux containers: no")
	engines.Set(func(e *traytest.Engines) { e.Refuse = refusal; e.Windows = "unavailable (no dockerd.exe found)" })
	it, _ = scr.item("switch-engine")
	app.Do(it.Action)
	scr.waitFor(t, "the refusal notified", func(tray.Menu) bool { return desk.Has("notify Berth: " + refusal.Error()) })
	scr.waitFor(t, "still offers Linux, new engine state", func(m tray.Menu) bool {
		w, _ := tray.Find(m.Items, "windows-engine")
		return label("Switch to Linux containers")(m) && w.Label == "Windows engine: unavailable (no dockerd.exe found)"
	})
	if got := strings.Join(engines.CallLog(), ","); got != "switch windows,switch linux" {
		t.Fatalf("switches %s", got)
	}
}
