package main

import (
	"reflect"
	"testing"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/hostagent/api"
)

func TestTimelineLines(t *testing.T) {
	tl := &api.Timeline{
		Stages: []api.Stage{{Name: "config", Seconds: 0.004}, {Name: "driver", Seconds: 3.21}, {Name: "engine", Seconds: 10.06}},
		Guest:  []agentapi.BootMark{{Name: "kernel", At: 1.234}, {Name: "dockerd ready", At: 12.94}},
	}
	want := []string{
		"13.3s: config 0.00s, driver 3.2s, engine 10.1s",
		"guest boot, each step ended at: kernel 1.2s, dockerd ready 12.9s",
	}
	if got := timelineLines(tl); !reflect.DeepEqual(got, want) {
		t.Errorf("timelineLines:\n%q\nwant\n%q", got, want)
	}
	tl.Adopted, tl.Guest = true, nil
	if got := timelineLines(tl); len(got) != 2 || got[1] != "the VM was running already (adopted): no boot" {
		t.Errorf("adopted: %q", got)
	}
	tl.Adopted, tl.Restored = false, true
	if got := timelineLines(tl); len(got) != 2 || got[1] != "the VM saved at the last stop was restored (fastStart): no boot" {
		t.Errorf("restored: %q", got)
	}
	if got := timelineLines(nil); got != nil {
		t.Errorf("no timeline: %q", got)
	}
}
