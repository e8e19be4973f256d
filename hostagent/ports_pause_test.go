package hostagent

import (
	"slices"
	"testing"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/portfwd"
)

func TestPausedPorts(t *testing.T) {
	var events []string
	pp := pausedPorts{emit: func(f portfwd.Forward) { events = append(events, f.Key()+" "+string(f.State)) }}
	web := portfwd.Forward{Proto: portfwd.TCP, HostIP: "0.0.0.0", HostPort: 8080, GuestPort: 8080, Source: portfwd.SourceDocker, State: portfwd.StateActive}
	dns := portfwd.Forward{Proto: portfwd.UDP, HostIP: "127.0.0.1", HostPort: 8080, GuestPort: 53, Source: portfwd.SourceManual}
	desired := []portfwd.Forward{web, dns}

	if got := pp.hold(desired); !slices.Equal(got, desired) {
		t.Fatalf("nothing paused: %v", got)
	}
	if pp.set(pauseKey(portfwd.TCP, 8080), true) {
		t.Fatal("was paused before")
	}
	if got := pp.hold(desired); !slices.Equal(got, []portfwd.Forward{dns}) {
		t.Fatalf("tcp 8080 paused, kept %v", got)
	}
	pp.flush()
	if l := pp.list(); len(l) != 1 || l[0].State != api.ForwardPaused || l[0].Key() != web.Key() {
		t.Fatalf("list: %v", l)
	}
	pp.hold(desired) // unchanged: no new event
	pp.flush()
	// The container goes away: the pause ends and its entry closes.
	pp.hold([]portfwd.Forward{dns})
	pp.flush()
	if got := pp.hold(desired); !slices.Equal(got, desired) {
		t.Fatalf("a new container on the port is forwarded: %v", got)
	}
	want := []string{"tcp 0.0.0.0:8080 paused", "tcp 0.0.0.0:8080 closed"}
	if !slices.Equal(events, want) {
		t.Fatalf("events %v, want %v", events, want)
	}
	if pp.set(pauseKey(portfwd.TCP, 8080), false) {
		t.Fatal("pause survived its port")
	}
}
