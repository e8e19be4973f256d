package lifecycle

import (
	"context"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/dockercontext"
	"github.com/berth-dev/berth/internal/engineswitch"
	"github.com/berth-dev/berth/store"
)

func TestCheckSwitchOS(t *testing.T) {
	if err := checkSwitchOS("linux", engineswitch.Windows); err == nil || !strings.Contains(err.Error(), "Windows only (this is linux)") {
		t.Errorf("linux, windows: %v", err)
	}
	for _, tc := range []struct {
		goos string
		e    engineswitch.Engine
	}{{"linux", engineswitch.Linux}, {"windows", engineswitch.Windows}, {"windows", engineswitch.Linux}, {"darwin", engineswitch.Linux}} {
		if err := checkSwitchOS(tc.goos, tc.e); err != nil {
			t.Errorf("%s, %s: %v", tc.goos, tc.e, err)
		}
	}
}

func TestEnsureEngineContexts(t *testing.T) {
	dir := t.TempDir()
	if err := ensureEngineContexts("linux", dir, "unix:///x"); err != nil {
		t.Fatal(err)
	}
	if _, err := dockercontext.Host(dir, engineswitch.LinuxContext); err == nil {
		t.Fatal("engine contexts written on linux")
	}
	const host = "npipe:////./pipe/berth-default-S-1-5-21-1-2-3-1001"
	if err := ensureEngineContexts("windows", dir, host); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{engineswitch.LinuxContext: host, engineswitch.WindowsContext: "npipe:////./pipe/berth-windows-engine"} {
		if h, err := dockercontext.Host(dir, name); err != nil || h != want {
			t.Errorf("%s: %q, %v", name, h, err)
		}
	}
}

// With the machine stopped, switching to Linux makes the context only.
func TestSwitchEngineStoppedMachine(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfg)
	m, err := store.Open(t.TempDir(), "default")
	if err != nil {
		t.Fatal(err)
	}
	res, err := SwitchEngine(context.Background(), m, engineswitch.Linux)
	if err != nil || res.Routed || res.Context != "berth-linux" {
		t.Fatalf("SwitchEngine = %+v, %v", res, err)
	}
	if cur, _ := dockercontext.Current(cfg); cur != "berth-linux" {
		t.Fatalf("context %q", cur)
	}
	if h, _ := dockercontext.Host(cfg, "berth-linux"); h != m.DockerHost() {
		t.Fatalf("berth-linux host %q", h)
	}
	if _, err := SwitchEngine(context.Background(), m, engineswitch.Windows); err == nil {
		t.Fatal("switched to windows on linux")
	}
	if cur, _ := dockercontext.Current(cfg); cur != "berth-linux" {
		t.Fatalf("a refused switch changed the context to %q", cur)
	}
}
