package main

import (
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
)

// A paused machine says so, who paused it and since when.
func TestStatusPaused(t *testing.T) {
	since := time.Now().Add(-7 * time.Minute)
	var b strings.Builder
	printStatus(&b, &api.Status{Machine: "default", State: api.StatePaused, PausedSince: since, DockerHost: "unix:///x"})
	want := "state:       paused (resource saver, since " + since.Local().Format("15:04:05") + ", 7m0s ago; the next docker command resumes it)\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("status:\n%s\nwant the line %q", b.String(), want)
	}
	b.Reset()
	printStatus(&b, &api.Status{Machine: "default", State: api.StateRunning, DockerHost: "unix:///x"})
	if strings.Contains(b.String(), "resource saver") {
		t.Errorf("a running machine mentions the saver:\n%s", b.String())
	}
	if !api.StatePaused.Up() || api.StateStopped.Up() {
		t.Error("State.Up")
	}
}
