package dashboard

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/portfwd"
)

// The ports view is `berth ports` with links; a manual forward's spec goes
// through the same parser (a bad one never reaches the agent); stop
// forwarding and forward again are the tray's.
func TestPorts(t *testing.T) {
	f, dial := newFakeEngine(t)
	agent := &fakeAgent{forwards: []portfwd.Forward{
		{Proto: portfwd.TCP, HostIP: portfwd.AllAddresses, HostPort: 8080, GuestPort: 80, Source: portfwd.SourceDocker, Container: "web", State: portfwd.StateActive},
		{Proto: portfwd.TCP, HostIP: "::1", HostPort: 9000, GuestPort: 90, Source: portfwd.SourceManual, Spec: "9000:90", State: portfwd.StateFailed, Reason: "address in use"},
		{Proto: portfwd.UDP, HostIP: "127.0.0.1", HostPort: 53, GuestPort: 53, Source: portfwd.SourceGuest, State: portfwd.StateActive},
	}}
	_, p := startPage(t, f, dial, agent)
	code, body := p.do("GET", "/api/forwards")
	var fs []Forward
	if code != http.StatusOK || json.Unmarshal(body, &fs) != nil || len(fs) != 3 {
		t.Fatalf("%d %s", code, body)
	}
	if fs[0].URL != "http://127.0.0.1:8080/" || fs[1].URL != "http://[::1]:9000/" || fs[2].URL != "" || fs[1].Reason != "address in use" {
		t.Errorf("forwards %+v", fs)
	}
	if code, body := p.post("/api/forwards", []byte(`{"spec":"127.0.0.1:7000:70"}`)); code != http.StatusNoContent {
		t.Errorf("add: %d %s", code, body)
	}
	if code, body := p.post("/api/forwards", []byte(`{"spec":"99999"}`)); code != http.StatusBadRequest || !strings.Contains(string(body), "99999") {
		t.Errorf("a bad spec: %d %s", code, body)
	}
	for _, c := range []struct{ method, path string }{
		{"POST", "/api/forwards/paused?proto=tcp&port=8080"},
		{"DELETE", "/api/forwards/paused?proto=tcp&port=8080"},
		{"DELETE", "/api/forwards?spec=9000:90"},
	} {
		if code, body := p.do(c.method, c.path); code != http.StatusNoContent {
			t.Errorf("%s %s: %d %s", c.method, c.path, code, body)
		}
	}
	if code, _ := p.do("POST", "/api/forwards/paused?proto=sctp&port=1"); code != http.StatusBadRequest {
		t.Errorf("pause sctp: %d", code)
	}
	want := []string{"add 127.0.0.1:7000:70", "pause 8080/tcp", "resume 8080/tcp", "remove 9000:90"}
	agent.mu.Lock()
	defer agent.mu.Unlock()
	if !slices.Equal(agent.calls, want) {
		t.Errorf("agent calls %q, want %q", agent.calls, want)
	}
}
