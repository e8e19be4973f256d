// fyne.io/systray v1.12.2 races with itself on the first GetLayout (it
// returns menuVersion under menuLock while a goroutine it starts bumps it
// under another lock), so the race detector fails any test that reads its
// menu. This test runs without -race: `go test ./tray/native/` (the
// end-to-end tray test, which runs without -race too, covers the same
// path against the real agent).

//go:build !race

package native_test

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/portfwd"
	"github.com/berth-dev/berth/tray"
	"github.com/berth-dev/berth/tray/native"
	"github.com/berth-dev/berth/tray/trayhost"
	"github.com/berth-dev/berth/tray/traytest"
)

// needBus skips without dbus-daemon, except in the end-to-end run, where
// its absence is a failure.
func needBus(t *testing.T) *trayhost.Bus {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		if os.Getenv("BERTH_E2E") == "1" {
			t.Fatalf("dbus-daemon is needed (hack/deps-tray.txt): %v", err)
		}
		t.Skip("dbus-daemon is not installed (hack/deps-tray.txt): the tray's DBus menu is not tested")
	}
	bus, err := trayhost.StartBus()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	return bus
}

// TestTrayOverDBus runs the tray against a fake agent and reads and clicks
// its menu the way a panel does. fyne's systray is one per process, so the
// whole story is one test.
func TestTrayOverDBus(t *testing.T) {
	bus := needBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.Address)
	host, err := trayhost.NewHost(bus.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()

	home := t.TempDir()
	if err := tray.SaveSettings(home+"/"+tray.SettingsFile, tray.Settings{StartEngine: false, OnQuit: tray.OnQuitLeave}); err != nil {
		t.Fatal(err)
	}
	agent, eng, desk := &traytest.Agent{}, &traytest.Engine{}, &traytest.Desktop{}
	app := tray.New(tray.Options{GOOS: "linux", Home: home, Machine: "default", BerthExe: "/bin/berth", Version: "test",
		Agent: agent, Engine: eng, Opener: desk, Clipboard: desk, Notifier: desk, Dialogs: desk, Runner: desk})
	tr := native.New("linux", app.Do)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	appDone, trayDone := make(chan struct{}), make(chan struct{})
	go func() { app.Run(ctx, tr, func() { native.Quit(); cancel() }); close(appDone) }()
	go func() { tr.Run(nil); close(trayDone) }()

	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	item, err := host.WaitItem(wctx)
	if err != nil {
		t.Fatal(err)
	}
	// waitMenu reads the menu until cond holds.
	waitMenu := func(what string, cond func(trayhost.Node) bool) trayhost.Node {
		t.Helper()
		var m trayhost.Node
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if m, err = item.Menu(); err == nil && cond(m) {
				return m
			}
		}
		t.Fatalf("timed out waiting for %s (err %v); menu:\n%s", what, err, m)
		return m
	}
	has := func(prefix string) func(trayhost.Node) bool {
		return func(m trayhost.Node) bool { _, ok := m.Find(prefix); return ok }
	}
	// enabled says whether each label is there and enabled; a menu still
	// being built may lack some.
	enabled := func(m trayhost.Node, labels ...string) (got []bool, all bool) {
		for _, label := range labels {
			n, ok := m.Find(label)
			if !ok {
				return nil, false
			}
			got = append(got, n.Enabled)
		}
		return got, true
	}
	click := func(m trayhost.Node, label string) {
		t.Helper()
		n, ok := m.Find(label)
		if !ok || !n.Enabled {
			t.Fatalf("%q not clickable in\n%s", label, m)
		}
		if err := item.Click(n.ID); err != nil {
			t.Fatal(err)
		}
	}

	// Every machine state: the status line, the enabled actions, the tooltip.
	for _, c := range []struct {
		st                       api.Status
		line                     string
		start, stop, restart, sh bool
	}{
		{api.Status{State: api.StateStopped}, "Berth is stopped", true, false, false, false},
		{api.Status{State: api.StateStarting, Phase: "booting"}, "Berth is starting", false, true, false, false},
		{api.Status{State: api.StateRunning, EngineVersion: "26.1.5", Accelerator: "kvm"}, "Berth is running · Docker 26.1.5 · kvm", false, true, true, true},
		{api.Status{State: api.StateDegraded, Error: "metrics port busy"}, "Berth is degraded", false, true, true, true},
		{api.Status{State: api.StateStopping}, "Berth is stopping", false, false, false, false},
		{api.Status{State: api.StateError, Error: "the VM exited"}, "Berth is error", true, true, true, false},
	} {
		agent.SetStatus(c.st)
		want := []bool{c.start, c.stop, c.restart, c.sh}
		// A menu is read while it may still be changing: wait for all of it.
		waitMenu(c.line+" with its actions", func(m trayhost.Node) bool {
			got, all := enabled(m, "Start", "Stop", "Restart", "Open shell in VM")
			return all && has(c.line)(m) && slices.Equal(got, want)
		})
		// The tooltip and icon are properties a panel reads on their own.
		var tt string
		var px []byte
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			tt, _ = item.Tooltip()
			_, _, px, _ = item.Icon()
			if strings.HasPrefix(tt, "Berth: "+string(c.st.State)) && len(px) > 0 {
				break
			}
		}
		if !strings.HasPrefix(tt, "Berth: "+string(c.st.State)) || len(px) == 0 {
			t.Errorf("%s: tooltip %q, icon of %d bytes", c.st.State, tt, len(px))
		}
	}

	// Ports, live: a forward appears, is paused and comes back from the menu.
	agent.SetStatus(api.Status{State: api.StateRunning, EngineVersion: "26.1.5"})
	eng.SetContainers([]engine.Container{{ID: "c1", Name: "web", Image: "nginx", State: "running",
		Ports: []engine.Port{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}}})
	agent.Forward(portfwd.Forward{Proto: portfwd.TCP, HostIP: "0.0.0.0", HostPort: 8080, GuestPort: 8080,
		Source: portfwd.SourceDocker, Container: "web", ContainerID: "c1", State: portfwd.StateActive})
	const entry = "web (nginx) — localhost:8080 → 80/tcp"
	m := waitMenu("the forward", has(entry))
	t.Logf("menu:\n%s", m)
	click(m, "Open http://localhost:8080")
	click(m, "Stop forwarding")
	m = waitMenu("paused", has("Forward again"))
	click(m, "Forward again")
	m = waitMenu("forwarded again", has("Stop forwarding"))
	click(m, "Logs")
	// A tray setting, remembered.
	click(m, "Ask whether to stop the engine")
	waitMenu("setting checked", func(m trayhost.Node) bool { n, _ := m.Find("Ask whether"); return n.Checked })
	// Every item of the model is in the DBus menu, with the same label.
	m, _ = item.Menu()
	var check func([]tray.Item)
	check = func(items []tray.Item) {
		for _, it := range items {
			if it.Separator || it.Hidden {
				continue
			}
			if _, ok := m.Find(it.Label); !ok {
				t.Errorf("model item %q (%s) missing from the DBus menu", it.Label, it.ID)
			}
			check(it.Children)
		}
	}
	check(tray.Build(app.Snapshot()).Items)
	if n, ok := m.Find("Switch to Windows containers"); ok {
		t.Errorf("Windows-only item shown on Linux: %+v", n)
	}
	for _, want := range []string{"open http://localhost:8080", "terminal docker --host unix:///fake/docker.sock logs --follow c1"} {
		if !desk.Has(want) {
			t.Errorf("missing %q in %v", want, desk.Log())
		}
	}
	if got := agent.CallLog(); !slices.Equal(got, []string{"pause 8080/tcp", "resume 8080/tcp"}) {
		t.Errorf("agent calls %v", got)
	}

	// The forward goes away with its container.
	agent.Forward(portfwd.Forward{Proto: portfwd.TCP, HostIP: "0.0.0.0", HostPort: 8080, State: portfwd.StateClosed})
	m = waitMenu("no forwards", has("No forwarded ports"))

	// Quit: the setting now says ask; the answer is "leave it running".
	desk.Answer(func(d *traytest.Desktop) { d.QuitAnswer = tray.QuitLeaveRunning })
	n, ok := m.Find("Quit")
	if !ok || !n.Enabled {
		t.Fatalf("Quit not clickable in\n%s", m)
	}
	if err := item.ClickLast(n.ID); err != nil {
		t.Fatal(err)
	}
	for _, done := range []chan struct{}{appDone, trayDone} {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the tray did not quit")
		}
	}
	if !desk.Has("ask quit") || slices.Contains(agent.CallLog(), "stop") {
		t.Errorf("quit: %v, agent %v", desk.Log(), agent.CallLog())
	}
}
