package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/tray"
	"github.com/berth-dev/berth/tray/native"
	"github.com/berth-dev/berth/tray/trayhost"
	"github.com/berth-dev/berth/tray/traytest"
)

const trayPort = 19080

// TestTray drives the tray app through its DBus menu, as a panel would,
// against the real agent and VM: Start, a published port showing up,
// "Stop forwarding" closing the host port, Quit stopping the engine.
// The tray runs in this process (fyne's systray is one per process);
// browsers, terminals and dialogs are recorded, not opened.
func TestTray(t *testing.T) {
	e := newEnv(t)
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Fatalf("dbus-daemon is needed for the tray test (hack/deps-tray.txt): %v", err)
	}
	bus, err := trayhost.StartBus()
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.Address)
	t.Setenv("DOCKER_CONFIG", e.dockerCfg)
	host, err := trayhost.NewHost(bus.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()

	m, err := store.Open(e.home, store.DefaultMachine)
	if err != nil {
		t.Fatal(err)
	}
	if err := tray.SaveSettings(filepath.Join(e.home, tray.SettingsFile), tray.Settings{StartEngine: false, OnQuit: tray.OnQuitStop}); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(filepath.Dir(e.bin), "..", "share", "berth", "image", runtime.GOARCH)
	desk := &traytest.Desktop{}
	app := tray.New(tray.Options{GOOS: runtime.GOOS, Home: e.home, Machine: m.Name, BerthExe: e.bin, Version: "e2e",
		Agent:  &tray.LocalAgent{Machine: m, BerthExe: e.bin, ImageDir: img},
		Engine: &tray.DockerEngine{Machine: m},
		Opener: desk, Clipboard: desk, Notifier: desk, Dialogs: desk, Runner: desk})
	tr := native.New(runtime.GOOS, app.Do)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	appDone, trayDone := make(chan struct{}), make(chan struct{})
	go func() { app.Run(ctx, tr, func() { native.Quit(); cancel() }); close(appDone) }()
	go func() { tr.Run(nil); close(trayDone) }()

	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	item, err := host.WaitItem(wctx)
	if err != nil {
		t.Fatal(err)
	}
	var menu trayhost.Node
	waitMenu := func(what string, d time.Duration, cond func(trayhost.Node) bool) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < d {
			if menu, err = item.Menu(); err == nil && cond(menu) {
				return time.Since(start)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("timed out after %s waiting for %s (err %v); menu:\n%s\ndesktop: %v", d, what, err, menu, desk.Log())
		return 0
	}
	has := func(prefix string) func(trayhost.Node) bool {
		return func(m trayhost.Node) bool { n, ok := m.Find(prefix); return ok && n.Enabled }
	}
	click := func(label string) {
		t.Helper()
		n, ok := menu.Find(label)
		if !ok || !n.Enabled {
			t.Fatalf("%q not clickable in\n%s", label, menu)
		}
		if err := item.Click(n.ID); err != nil {
			t.Fatal(err)
		}
	}

	waitMenu("stopped", 10*time.Second, has("Start"))
	click("Start")
	waitMenu("starting", 10*time.Second, func(m trayhost.Node) bool { _, ok := m.Find("Berth is starting"); return ok })
	took := waitMenu("running", 10*time.Minute, func(m trayhost.Node) bool { _, ok := m.Find("Berth is running"); return ok })
	t.Logf("Start → running in %s", took.Round(time.Millisecond))
	if tt, err := item.Tooltip(); err != nil || !strings.HasPrefix(tt, "Berth: running") {
		t.Errorf("tooltip %q %v", tt, err)
	}

	e.buildBusyboxImage(t, "berth-tray-e2e")
	e.mustDocker(t, "run", "-d", "--name", "web", "-p", fmt.Sprintf("%d:80", trayPort), "berth-tray-e2e", "httpd", "-f", "-p", "80", "-h", "/")
	entry := fmt.Sprintf("web (berth-tray-e2e) — localhost:%d → 80/tcp", trayPort)
	took = waitMenu("the published port", 10*time.Second, has(entry))
	t.Logf("docker run returned → port in the menu in %s", took.Round(time.Millisecond))
	if took > time.Second {
		t.Errorf("the port took %s to show in the menu, over a second", took)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", trayPort)
	waitFor(t, "the host port to answer", 10*time.Second, func() bool { return dialOK(addr) })
	waitMenu("the container in the menu", 10*time.Second, has("web (berth-tray-e2e)"))
	click("Open http://localhost:" + fmt.Sprint(trayPort))

	click("Stop forwarding")
	waitFor(t, "the host port to close", 5*time.Second, func() bool { return !dialOK(addr) })
	waitMenu("Forward again", 5*time.Second, has("Forward again"))
	click("Forward again")
	waitFor(t, "the host port to open again", 10*time.Second, func() bool { return dialOK(addr) })

	quit, ok := menu.Find("Quit")
	if !ok || !quit.Enabled {
		t.Fatalf("Quit not clickable in\n%s", menu)
	}
	if err := item.ClickLast(quit.ID); err != nil {
		t.Fatal(err)
	}
	for _, done := range []chan struct{}{appDone, trayDone} {
		select {
		case <-done:
		case <-time.After(3 * time.Minute):
			t.Fatal("the tray did not quit")
		}
	}
	if st := e.status(t); st.State != "stopped" {
		t.Errorf("after Quit (on quit: stop the engine): %+v", st)
	}
	if !desk.Has(fmt.Sprintf("open http://localhost:%d", trayPort)) || slices.ContainsFunc(desk.Log(), func(s string) bool { return strings.HasPrefix(s, "notify") }) {
		t.Errorf("desktop: %v", desk.Log())
	}
	_ = os.Remove(filepath.Join(e.home, tray.SettingsFile))
}

func dialOK(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
