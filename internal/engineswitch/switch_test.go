package engineswitch

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/dockercontext"
	"github.com/berth-dev/berth/vm/hyperv"
	"github.com/berth-dev/berth/winservice"
)

func TestParseAndContexts(t *testing.T) {
	for in, want := range map[string]Engine{"linux": Linux, "Windows": Windows, " windows ": Windows} {
		if e, err := Parse(in); err != nil || e != want {
			t.Errorf("Parse(%q) = %q, %v", in, e, err)
		}
	}
	if _, err := Parse("macos"); err == nil || err.Error() != `engine "macos": linux or windows` {
		t.Errorf("Parse(macos) = %v", err)
	}
	if Linux.Context() != "berth-linux" || Windows.Context() != "berth-windows" || Linux.Other() != Windows || Windows.Other() != Linux {
		t.Error("contexts")
	}
	for cur, want := range map[string]Engine{"berth-windows": Windows, "berth-linux": Linux, "berth": Linux, "": Linux, "desktop-linux": Linux} {
		if got := OfContext(cur); got != want {
			t.Errorf("OfContext(%q) = %s", cur, got)
		}
	}
}

// A switch to an engine that is not ready changes nothing: no context, no
// route; the reason comes back whole.
func TestSwitchNotReadyChangesNothing(t *testing.T) {
	cfg := t.TempDir()
	routed := 0
	notReady := winservice.CheckFeatures(winservice.Features{Containers: winservice.FeatureEnablePending, HyperV: winservice.FeatureEnabled})
	sw := Switcher{DockerConfig: cfg, LinuxHost: "npipe:////./pipe/x", WindowsHost: winservice.EngineHost,
		Ready: func(context.Context, Engine) error { return notReady },
		Route: func(context.Context, Engine) error { routed++; return nil }}
	_, err := sw.Switch(context.Background(), Windows)
	if !errors.Is(err, winservice.ErrFeatures) || !strings.Contains(err.Error(), "cannot switch to windows containers: windows features missing: the Windows feature Containers is enabled but waits for a restart") {
		t.Fatalf("Switch = %v", err)
	}
	if routed != 0 {
		t.Fatal("routed although not ready")
	}
	if ents, _ := os.ReadDir(cfg); len(ents) != 0 {
		t.Fatalf("the docker configuration changed: %v", ents)
	}
}

// When the context cannot be written, the default pipe goes back to the
// engine it carried.
func TestSwitchPutsRouteBack(t *testing.T) {
	cfg := t.TempDir()
	if err := os.Mkdir(filepath.Join(cfg, "config.json"), 0o700); err != nil { // unwritable as a file
		t.Fatal(err)
	}
	var routes []Engine
	sw := Switcher{DockerConfig: cfg, LinuxHost: "unix:///x.sock", WindowsHost: winservice.EngineHost,
		Ready: func(context.Context, Engine) error { return nil },
		Route: func(_ context.Context, e Engine) error { routes = append(routes, e); return nil }}
	if _, err := sw.Switch(context.Background(), Windows); err == nil || !strings.Contains(err.Error(), "making berth-windows the docker context") {
		t.Fatalf("Switch = %v", err)
	}
	if len(routes) != 2 || routes[0] != Windows || routes[1] != Linux {
		t.Fatalf("routes %v, want windows then linux again", routes)
	}
	// Berth not serving the default pipe: the context alone changes.
	cfg = t.TempDir()
	sw.DockerConfig = cfg
	sw.Route = func(context.Context, Engine) error { return ErrNotRouted }
	res, err := sw.Switch(context.Background(), Windows)
	if err != nil || res.Routed {
		t.Fatalf("Switch = %+v, %v", res, err)
	}
	if cur, _ := dockercontext.Current(cfg); cur != "berth-windows" {
		t.Fatalf("context %q", cur)
	}
	if h, _ := dockercontext.Host(cfg, "berth-windows"); h != "npipe:////./pipe/berth-windows-engine" {
		t.Fatalf("berth-windows host %q", h)
	}
}

type features winservice.Features

func (f features) Features(context.Context) (winservice.Features, error) {
	return winservice.Features(f), nil
}

type engineStatus winservice.EngineStatus

func (e engineStatus) Status() winservice.EngineStatus { return winservice.EngineStatus(e) }

type nopLog struct{}

func (nopLog) Info(uint32, string) error    { return nil }
func (nopLog) Warning(uint32, string) error { return nil }
func (nopLog) Error(uint32, string) error   { return nil }

// WindowsReady asks the real service code (over an in-memory connection)
// and the engine, and says what stands in the way.
func TestWindowsReady(t *testing.T) {
	client := func(f winservice.Features, st winservice.EngineStatus) *winservice.Client {
		s := &winservice.Service{Principal: "S-1-5-21-1", Features: features(f), Engine: engineStatus(st), Log: nopLog{}, HyperV: hyperv.Manager(nil)}
		return &winservice.Client{Dial: func(context.Context) (net.Conn, error) {
			a, b := net.Pipe()
			go func() {
				defer b.Close()
				_ = s.Handle(context.Background(), winservice.Caller{SID: "S-1-5-21-1"}, b, b)
			}()
			return a, nil
		}}
	}
	on := winservice.Features{Containers: winservice.FeatureEnabled, HyperV: winservice.FeatureEnabled}
	running := winservice.EngineStatus{State: "running", PID: 7}
	noEngine := func(context.Context) (net.Conn, error) { return nil, errors.New("pipe not found") }
	for _, tc := range []struct {
		f    winservice.Features
		st   winservice.EngineStatus
		want string
	}{
		{winservice.Features{Containers: winservice.FeatureDisabled, HyperV: winservice.FeatureEnabled}, running,
			"the Windows feature Containers is off: enable it in an elevated PowerShell with `Enable-WindowsOptionalFeature -Online -FeatureName Containers,Microsoft-Hyper-V -All`"},
		{on, winservice.EngineStatus{State: "unavailable", Reason: "no dockerd.exe found"}, "the Windows engine does not run: no dockerd.exe found"},
		{on, winservice.EngineStatus{State: "restarting", Restarts: 3, Reason: "exit status 1"}, "the Windows engine is restarting after 3 restarts (exit status 1)"},
		{on, running, `the Windows engine does not answer on \\.\pipe\berth-windows-engine: `},
	} {
		err := WindowsReady(context.Background(), client(tc.f, tc.st), noEngine)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v %+v: %v, want %q", tc.f, tc.st, err, tc.want)
		}
	}
}
