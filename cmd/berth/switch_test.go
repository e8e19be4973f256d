package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/engineswitch"
	"github.com/berth-dev/berth/winservice"
)

func TestSwitchMessage(t *testing.T) {
	got := switchMessage(engineswitch.Result{Engine: engineswitch.Windows, Context: "berth-windows", Routed: true, Took: 12300 * time.Microsecond})
	want := `docker now uses the context berth-windows (Windows containers; the other engine keeps running); \\.\pipe\docker_engine carries it too; took 12ms.`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	got = switchMessage(engineswitch.Result{Engine: engineswitch.Linux, Context: "berth-linux"})
	if !strings.Contains(got, "(Linux containers;") || !strings.Contains(got, "is not Berth's to re-point") {
		t.Errorf("not routed: %s", got)
	}
}

// berth status shows both engines: which one docker's default pipe
// carries, and the Windows engine's state from berth-service.
func TestStatusBothEngines(t *testing.T) {
	var b strings.Builder
	printStatus(&b, &api.Status{Machine: "default", State: api.StateRunning, DockerHost: "npipe:////./pipe/x", DefaultEngine: "windows"})
	if !strings.Contains(b.String(), `default:     \\.\pipe\docker_engine carries the windows engine`) {
		t.Errorf("status:\n%s", b.String())
	}
	for _, tc := range []struct {
		st   winservice.EngineStatus
		err  error
		want string
	}{
		{winservice.EngineStatus{State: "running", PID: 9, Dockerd: `C:\Program Files\Docker\Docker\resources\dockerd.exe`, Host: winservice.EngineHost}, nil,
			`windows:     running (pid 9, C:\Program Files\Docker\Docker\resources\dockerd.exe), docker host npipe:////./pipe/berth-windows-engine`},
		{winservice.EngineStatus{State: "unavailable", Reason: "no dockerd.exe found"}, nil, "windows:     unavailable: no dockerd.exe found"},
		{winservice.EngineStatus{}, errors.New("berth-service is not reachable"), "windows:     no Windows engine: berth-service is not reachable"},
	} {
		b.Reset()
		printWindowsEngine(&b, tc.st, tc.err)
		if got := strings.TrimSpace(b.String()); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}
