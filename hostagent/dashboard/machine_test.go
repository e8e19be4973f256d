package dashboard

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/berth-dev/berth/hostagent/api"
)

// The page's Start, Restart and Stop go to the agent; a restart the agent
// refuses for the config comes back as the settings' errors, each by its
// field (the file's path left out); a refusal keeps its code; an agent
// that does not answer is 502. The page counts as open while its event
// stream is (the agent keeps a stopped machine's page up for it).
func TestMachineActions(t *testing.T) {
	f, dial := newFakeEngine(t)
	agent := &fakeAgent{}
	s, p := startPage(t, f, dial, agent)
	s.o.ConfigPath = "/home/u/.berth/config.yaml"
	for _, path := range []string{"/api/machine/restart", "/api/machine/start", "/api/machine/stop"} {
		if code, body := p.do("POST", path); code != http.StatusAccepted {
			t.Errorf("POST %s: %d %s", path, code, body)
		}
	}
	if want := []string{"restart", "start "}; !slices.Equal(agent.calls, want) || agent.stops != 1 {
		t.Errorf("the agent was asked %q and %d stops, want %q and 1", agent.calls, agent.stops, want)
	}

	agent.refuse = &api.Error{Code: http.StatusBadRequest, Message: s.o.ConfigPath + ": cpus: 999 is out of range (1 to 2)\nmemory: \"lots\" is not a size"}
	code, body := p.do("POST", "/api/machine/restart")
	var se SettingsError
	if code != http.StatusBadRequest || json.Unmarshal(body, &se) != nil ||
		se.Errors["cpus"] != "cpus: 999 is out of range (1 to 2)" || se.Errors["memory"] != `memory: "lots" is not a size` {
		t.Errorf("restart with a bad config: %d %s", code, body)
	}
	agent.refuse = &api.Error{Code: http.StatusConflict, Message: "the machine is not stopped"}
	if code, body := p.do("POST", "/api/machine/start"); code != http.StatusConflict {
		t.Errorf("a refused start: %d %s", code, body)
	}
	agent.refuse = errors.New("connecting to the host agent: gone")
	if code, body := p.do("POST", "/api/machine/restart"); code != http.StatusBadGateway {
		t.Errorf("restart without an agent: %d %s", code, body)
	}
}
