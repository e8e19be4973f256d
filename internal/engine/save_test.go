package engine

import (
	"testing"

	"github.com/moby/moby/api/types/container"
)

// The engine's own choice at its start, for a container that does not run.
func TestStartsAgain(t *testing.T) {
	ran := func(exit int) *container.State {
		return &container.State{Status: "exited", ExitCode: exit, StartedAt: "2026-12-07T05:00:00Z"}
	}
	never := &container.State{Status: "created", StartedAt: "0001-01-01T00:00:00Z"}
	for _, tc := range []struct {
		name    string
		policy  container.RestartPolicyMode
		stopped bool // stopped by the save (it was running)
		st      *container.State
		want    bool
	}{
		{"always, stopped for the save", container.RestartPolicyAlways, true, ran(137), true},
		{"always, stopped by hand before", container.RestartPolicyAlways, false, ran(0), true},
		{"always, never started", container.RestartPolicyAlways, false, never, false},
		{"unless-stopped, stopped for the save", container.RestartPolicyUnlessStopped, true, ran(143), true},
		{"unless-stopped, stopped by hand before", container.RestartPolicyUnlessStopped, false, ran(0), false},
		{"on-failure, killed by the save", container.RestartPolicyOnFailure, true, ran(137), true},
		{"on-failure, exited cleanly on SIGTERM", container.RestartPolicyOnFailure, true, ran(0), false},
		{"no", container.RestartPolicyDisabled, true, ran(137), false},
		{"empty policy", "", true, ran(137), false},
		{"running already", container.RestartPolicyAlways, true, &container.State{Running: true, StartedAt: "2026-12-07T05:00:00Z"}, false},
		{"no state", container.RestartPolicyAlways, true, nil, false},
	} {
		if got := startsAgain(tc.policy, tc.stopped, tc.st); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
