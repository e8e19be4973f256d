package engine

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
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

// standIn is an engine stand-in for StopForSave: its container list is a
// view that still says "running" for a container stopped by hand a moment
// before (as the engine's list may), while inspect tells the live state.
type standIn struct {
	mu      sync.Mutex
	live    map[string]string // id: status
	listed  map[string]string // what the list says
	policy  map[string]string
	stopped []string
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := r.URL.Path
	if i := strings.Index(path[1:], "/"); strings.HasPrefix(path, "/v") && i > 0 {
		path = path[i+1:] // the API version
	}
	switch {
	case r.Method == http.MethodGet && path == "/containers/json":
		var items []map[string]any
		for id, st := range s.listed {
			items = append(items, map[string]any{"Id": id, "Names": []string{"/" + id}, "State": st})
		}
		_ = json.NewEncoder(w).Encode(items)
	case r.Method == http.MethodGet && strings.HasSuffix(path, "/json"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/containers/"), "/json")
		st, ok := s.live[id]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": "No such container: " + id})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"Id": id, "Name": "/" + id,
			"State":      map[string]any{"Status": st, "Running": st == "running", "ExitCode": 137, "StartedAt": "2026-12-07T05:00:00Z"},
			"HostConfig": map[string]any{"RestartPolicy": map[string]any{"Name": s.policy[id]}},
		})
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/stop"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/containers/"), "/stop")
		s.stopped = append(s.stopped, id)
		s.live[id] = "exited"
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "not in the stand-in: "+r.Method+" "+r.URL.Path, http.StatusNotImplemented)
	}
}

// A container stopped by hand just before the save is not taken for one
// the save stopped, even while the engine's list still says it runs; one
// removed meanwhile is left out.
func TestStopForSaveReadsTheLiveState(t *testing.T) {
	s := &standIn{
		live:   map[string]string{"web": "running", "byhand": "exited"},
		listed: map[string]string{"web": "running", "byhand": "running", "gone": "exited"},
		policy: map[string]string{"web": "unless-stopped", "byhand": "unless-stopped", "gone": "always"},
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, err := New(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", srv.Listener.Addr().String())
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.StopForSave(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.IDs, []string{"web"}) {
		t.Errorf("to start again: %v, want [web]", r.IDs)
	}
	if !slices.Equal(s.stopped, []string{"web"}) {
		t.Errorf("stopped: %v, want [web]", s.stopped)
	}
}
